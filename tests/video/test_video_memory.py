"""Nothing leaks: reading the same videos over and over keeps the process's resident memory flat."""

from __future__ import annotations

import gc
import shutil

import pytest

from vidllm.video import read_frames

psutil = pytest.importorskip("psutil")


@pytest.fixture(scope="module")
def hundred_videos(tmp_path_factory, videos) -> list:
    """100 distinct files (copies of the generated test videos)."""
    d = tmp_path_factory.mktemp("many")
    sources = [v.path for v in videos.values()]
    paths = []
    for i in range(100):
        path = d / f"video_{i:03d}.mp4"
        shutil.copy(sources[i % len(sources)], path)
        paths.append(path)
    return paths


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def growth_mb(paths, backend: str, rounds: int) -> float:
    """RSS after ``rounds`` passes over ``paths`` minus RSS after one warm-up pass."""
    for p in paths:
        read_frames(p, backend=backend, fps=3, size=(24, 32))
    base = rss_mb()
    for _ in range(rounds):
        for p in paths:
            read_frames(p, backend=backend, fps=3, size=(24, 32))
    return rss_mb() - base


def test_memory_stays_flat(hundred_videos, backend):
    # 20 videos x 5 rounds; allocator noise stays well under 15 MB, a leak of one frame batch per read would not
    growth = growth_mb(hundred_videos[:20], backend, rounds=5)
    assert growth < 15, f"{backend}: RSS grew {growth:.1f} MB over 100 reads"


@pytest.mark.slow
def test_memory_stays_flat_100_videos_10_times(hundred_videos, backend):
    growth = growth_mb(hundred_videos, backend, rounds=10)
    assert growth < 25, f"{backend}: RSS grew {growth:.1f} MB over 1000 reads"
