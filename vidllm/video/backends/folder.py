"""A folder of pre-extracted frames as a video.

The folder holds one image per frame (``.jpg``, ``.jpeg``, ``.png``, ``.webp`` or ``.bmp``), in natural name order
(``2.jpg`` before ``10.jpg``). Its timing comes from ``frames.json`` when present (written by
:mod:`vidllm.video.extract`: ``{"timestamps": [...], "duration": ..., "fps": ..., "files": [...]}``, so frames keep
the exact times of the video they were taken from), else from the ``fps`` the caller gives: frame ``i`` is shown
from ``i / fps`` to ``(i + 1) / fps``. JPEGs are decoded at reduced scale when a smaller output is asked for.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from vidllm.video.backends.base import Decoded
from vidllm.video.index import FrameIndex

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
#: Name of the optional timing file in a frame folder.
FRAMES_JSON = "frames.json"


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def list_frame_files(folder: Path) -> list[str]:
    """File names of the frames in ``folder``: from ``frames.json`` if it lists them, else every image, naturally
    sorted."""
    meta = read_frames_json(folder)
    if meta is not None and meta.get("files"):
        return [str(f) for f in meta["files"]]
    return sorted((p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)


def read_frames_json(folder: Path) -> dict | None:
    """The folder's ``frames.json`` as a dict, or ``None`` when there is none."""
    path = folder / FRAMES_JSON
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def folder_index(folder: Path, fps: float | None) -> FrameIndex:
    """Build the frame index of a frame folder.

    Args:
        folder: The folder.
        fps: Its frame rate; used when the folder has no ``frames.json`` with timestamps.

    Returns:
        A :class:`FrameIndex` without raw pts (``pts is None``).

    Raises:
        ValueError: No timing: neither ``frames.json`` timestamps nor ``fps`` (or a non-positive ``fps``).
        RuntimeError: No images, or ``frames.json`` timestamps that do not fit the images.
    """
    from PIL import Image

    files = list_frame_files(folder)
    if not files:
        raise RuntimeError(f"no frame images ({', '.join(IMAGE_SUFFIXES)}) in the folder")
    meta = read_frames_json(folder) or {}
    if meta.get("timestamps") is not None:
        times = np.asarray(meta["timestamps"], dtype=np.float64)
        if len(times) != len(files) or np.any(np.diff(times) < 0):
            raise RuntimeError(
                f"{FRAMES_JSON} has {len(times)} timestamps for {len(files)} frame files, or they are not ascending"
            )
        gap = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / float(meta.get("fps") or fps or 1.0)
        end = float(meta.get("duration") or times[-1] + gap)
        end = max(end, float(times[-1]) + 1e-3)
    else:
        fps = fps if fps is not None else meta.get("fps")
        if fps is None:
            raise ValueError(f"a frame folder needs its frame rate: pass folder_fps=... or add a {FRAMES_JSON}")
        if not fps > 0:
            raise ValueError(f"folder_fps must be positive, got {fps!r}")
        times = np.arange(len(files), dtype=np.float64) / float(fps)
        end = len(files) / float(fps)
    with Image.open(folder / files[0]) as first:
        width, height = first.size
    return FrameIndex(
        times=times, end=end, keyframes=np.ones(len(files), dtype=bool), height=int(height), width=int(width)
    )


class FolderBackend:
    """Load frames from a folder of images with Pillow."""

    name = "folder"

    def unavailable_reason(self) -> str | None:
        """Pillow is a core dependency: always available."""
        return None

    def decode(
        self,
        path: Path,
        index: FrameIndex,
        positions: np.ndarray,
        size: tuple[int, int] | None,
        threads: int,
    ) -> Decoded:
        """See :meth:`vidllm.video.backends.base.Backend.decode`."""
        from PIL import Image

        files = list_frame_files(path)
        h, w = size if size is not None else (index.height, index.width)
        out = np.empty((len(positions), h, w, 3), dtype=np.uint8)
        for j, pos in enumerate(positions):
            with Image.open(path / files[pos]) as img:
                if size is not None:
                    img.draft("RGB", (w, h))  # JPEG: decode at the smallest 1/2^k scale that is still >= the output
                rgb = img.convert("RGB")
                if rgb.size != (w, h):
                    rgb = rgb.resize((w, h), Image.Resampling.BILINEAR)
                out[j] = np.asarray(rgb)
        return Decoded(frames=out, times=index.times[positions])
