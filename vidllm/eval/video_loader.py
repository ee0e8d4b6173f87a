"""Videos for an evaluation: found under the video root, decoded ahead of the model in threads, kept for reuse.

Decoding the next batch's videos while the model generates hides most of the decoding time; Charades-STA asks about
four questions per video, so a few decoded videos are kept. Errors are not raised when a video is queued, only when
it is taken (:meth:`VideoLoader.get`), so the runner records them as failure lines of the samples that need it.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vidllm.video import VideoFrames, read_frames
from vidllm.video.extract import VIDEO_SUFFIXES


def find_video(root: str | os.PathLike, relative: str) -> Path:
    """``root / relative``, or the same name with another usual video extension when only that one exists.

    ActivityNet's videos come as ``.mp4``, ``.mkv`` and ``.webm`` under one id; the GT names none of them.
    Returns ``root / relative`` when nothing exists (reading it then raises ``FileNotFoundError``).
    """
    path = Path(root) / relative
    if path.exists():
        return path
    for suffix in VIDEO_SUFFIXES:
        other = path.with_suffix(suffix)
        if other.exists():
            return other
    return path


class VideoLoader:
    """Decodes videos in a thread pool and keeps the most recent ones.

    Args:
        root: The video root.
        read_kwargs: Keyword arguments of :func:`vidllm.video.read_frames` (sampling, size, backend).
        workers: Decoding threads (0: decode in the calling thread, when taken).
        capacity: Decoded (or queued) videos kept.
    """

    def __init__(self, root: str | os.PathLike, read_kwargs: dict[str, Any], *, workers: int = 2, capacity: int = 8):
        self.root = Path(root)
        self.read_kwargs = dict(read_kwargs)
        self.capacity = max(capacity, 1)
        self._pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="vidllm-decode") if workers > 0 else None
        self._futures: OrderedDict[Path, cf.Future] = OrderedDict()

    def __enter__(self) -> VideoLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the threads (queued reads are cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._futures.clear()

    def _read(self, path: Path) -> VideoFrames:
        return read_frames(path, **self.read_kwargs)

    def _submit(self, path: Path) -> cf.Future:
        if self._pool is not None:
            future = self._pool.submit(self._read, path)
        else:
            future = cf.Future()
            try:
                future.set_result(self._read(path))
            except Exception as e:  # kept in the future: raised by get(), like a threaded read
                future.set_exception(e)
        self._futures[path] = future
        while len(self._futures) > self.capacity:
            self._futures.popitem(last=False)
        return future

    def prefetch(self, relatives: Iterable[str]) -> None:
        """Queue the videos (no-op without threads: they are then read when taken)."""
        if self._pool is None:
            return
        for rel in dict.fromkeys(relatives):
            path = find_video(self.root, rel)
            if path in self._futures:
                self._futures.move_to_end(path)
            else:
                self._submit(path)

    def get(self, relative: str) -> VideoFrames:
        """The decoded video.

        Raises:
            FileNotFoundError: No such video.
            VideoDecodeError: It does not decode.
        """
        path = find_video(self.root, relative)
        future = self._futures.get(path)
        if future is None:
            future = self._submit(path)
        else:
            self._futures.move_to_end(path)
        return future.result()
