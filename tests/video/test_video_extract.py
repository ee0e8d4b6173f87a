"""Offline extraction: preprocess/extract_frames.py on a folder of test videos with a corrupt file among them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from video_helpers import frame_number

from vidllm.video import read_frames
from vidllm.video.extract import ExtractOptions, extract_all, find_videos
from vidllm.video.numbering import NumberStyle

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def dataset(tmp_path, videos, bad_files) -> Path:
    """A folder of videos: three good ones (one in a sub-folder), a truncated one and an empty one."""
    root = tmp_path / "dataset"
    (root / "sub").mkdir(parents=True)
    shutil.copy(videos["12fps"].path, root / "twelve.mp4")
    shutil.copy(videos["29.97fps"].path, root / "ntsc.mp4")
    shutil.copy(videos["vfr"].path, root / "sub" / "vfr.mp4")
    shutil.copy(bad_files["truncated"], root / "broken.mp4")
    shutil.copy(bad_files["empty"], root / "empty.mkv")
    (root / "notes.txt").write_text("not a video")
    return root


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_find_videos(dataset, tmp_path):
    found = dict(find_videos(dataset))
    assert sorted(found) == ["broken", "empty", "ntsc", "sub/vfr", "twelve"]
    listing = tmp_path / "list.txt"
    listing.write_text(f"# my videos\n{dataset / 'twelve.mp4'}\n\ndataset/ntsc.mp4\n")
    assert find_videos(listing) == [("ntsc", dataset / "ntsc.mp4"), ("twelve", dataset / "twelve.mp4")]
    clash = tmp_path / "clash.txt"
    clash.write_text(f"{dataset / 'twelve.mp4'}\n{dataset / 'sub' / 'vfr.mp4'}\n{dataset / 'twelve.mp4'}\n")
    with pytest.raises(ValueError, match="same id"):
        find_videos(clash)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        find_videos(tmp_path / "nowhere")


def test_extract_mp4_numbered_and_resumable(dataset, tmp_path, videos):
    out = tmp_path / "out"
    opts = ExtractOptions(fps=2, size=(96, 128), number=True, backend="pyav")
    summary = extract_all(find_videos(dataset), out, opts, progress=False)
    assert sorted(summary.done) == ["ntsc", "sub/vfr", "twelve"]
    assert sorted(summary.failed) == ["broken", "empty"]
    assert "broken.mp4" in summary.failed["broken"] and "VideoDecodeError" in summary.failed["broken"]
    failures = {r["id"]: r for r in read_jsonl(out / "failures.jsonl")}
    assert sorted(failures) == ["broken", "empty"] and "0 bytes" in failures["empty"]["error"]

    records = {r["id"]: r for r in read_jsonl(out / "manifest.jsonl")}
    twelve = records["twelve"]
    assert twelve["path"] == "videos/twelve.mp4" and twelve["fps"] == 2 and twelve["num_frames"] == 8
    assert twelve["duration"] == pytest.approx(4.0) and twelve["native_fps"] == pytest.approx(12.0)
    np.testing.assert_allclose(twelve["timestamps"], np.arange(8) / 2, atol=1e-6)
    vfr = records["sub/vfr"]
    source = read_frames(videos["vfr"].path, fps=2)
    np.testing.assert_allclose(vfr["timestamps"], source.timestamps, atol=1e-6)

    # the clip plays on the sample grid, holds the sampled frames, numbered from 0 in the bottom-right corner
    clip = read_frames(out / twelve["path"], fps=2)
    assert clip.frames.shape == (8, 96, 128, 3)
    np.testing.assert_allclose(clip.timestamps, np.arange(8) / 2, atol=1e-6)
    assert [frame_number(f) for f in clip.frames] == [6 * k for k in range(8)]
    red = (clip.frames[..., 0] > 150) & (clip.frames[..., 1] < 90) & (clip.frames[..., 2] < 90)
    assert (red[:, 70:, 100:].sum(axis=(1, 2)) > 5).all() and not red[:, :60].any()  # 11 px digits

    # rerun: finished videos are skipped, failed ones retried (and still failing)
    again = extract_all(find_videos(dataset), out, opts, progress=False)
    assert again.done == [] and sorted(again.skipped) == ["ntsc", "sub/vfr", "twelve"]
    assert sorted(again.failed) == ["broken", "empty"]
    assert len(read_jsonl(out / "manifest.jsonl")) == 3
    # a lost output is redone
    (out / "videos" / "ntsc.mp4").unlink()
    third = extract_all(find_videos(dataset), out, opts, progress=False)
    assert third.done == ["ntsc"]


def test_extract_jpg_folder_reads_back(dataset, tmp_path):
    out = tmp_path / "out"
    opts = ExtractOptions(num_frames=5, fmt="jpg", number=True, style=NumberStyle(start=1))
    summary = extract_all([("twelve", dataset / "twelve.mp4")], out, opts, progress=False)
    assert summary.done == ["twelve"]
    record = read_jsonl(out / "manifest.jsonl")[0]
    folder = out / record["path"]
    assert sorted(p.name for p in folder.iterdir()) == [f"{k:06d}.jpg" for k in range(5)] + ["frames.json"]
    meta = json.loads((folder / "frames.json").read_text())
    assert meta["fps"] == pytest.approx(5 / 4.0) and meta["source_timestamps"] == record["timestamps"]
    back = read_frames(folder, num_frames=5)
    assert back.backend == "folder" and len(back) == 5
    assert [frame_number(f) for f in back.frames] == [0, 9, 19, 28, 38]


def test_script_runs_with_workers_and_reports_the_corrupt_file(dataset, tmp_path):
    out = tmp_path / "script_out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(REPO / "preprocess" / "extract_frames.py"), "--videos", str(dataset), "--out", str(out)]
    cmd += ["--fps", "1", "--number", "--max-pixels", "20000", "--workers", "2", "--backend", "pyav"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "3 extracted" in result.stdout and "2 failed" in result.stdout
    assert "broken" in result.stderr and "failures.jsonl" in result.stderr
    assert sorted(r["id"] for r in read_jsonl(out / "failures.jsonl")) == ["broken", "empty"]
    assert sorted(r["id"] for r in read_jsonl(out / "manifest.jsonl")) == ["ntsc", "sub/vfr", "twelve"]
    for r in read_jsonl(out / "manifest.jsonl"):
        assert r["height"] * r["width"] <= 20000 and (out / r["path"]).is_file()

    bad_args = subprocess.run(cmd[:2] + ["--videos", str(tmp_path / "missing"), "--out", str(out)], **_quiet(env))
    assert bad_args.returncode == 1 and "missing" in bad_args.stderr


def _quiet(env):
    return {"capture_output": True, "text": True, "env": env, "timeout": 120}
