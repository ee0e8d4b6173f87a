"""Offline frame extraction: sample, resize, optionally number, and write each video as a small clip plus a manifest.

Layout of the output folder::

    OUT/videos/<id>.mp4          one small H.264 clip per video (format "mp4"), or
    OUT/frames/<id>/000000.jpg   one JPEG per sampled frame plus frames.json (format "jpg")
    OUT/manifest.jsonl           one record per finished video (appended as videos finish)
    OUT/failures.jsonl           one record per video that failed in the last run: {"id", "source", "error"}

A clip plays on the sample grid: frame ``k`` is shown from ``k / fps`` to ``(k + 1) / fps`` seconds, so reading
it back at the same ``fps`` returns exactly the extracted frames, and NumPro frame number ``k`` means ``k / fps``
seconds of the clip. The manifest keeps, for every frame, the exact presentation time in the *source* video it was
taken from (``timestamps``), the window ``start``, and the source's ``duration`` and ``native_fps``.

Runs are resumable: a video whose record is in the manifest and whose output exists is skipped. One bad video
never stops a run: its error goes to ``failures.jsonl`` and it is retried on the next run.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import math
import multiprocessing
import os
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from vidllm.video.backends.folder import FRAMES_JSON
from vidllm.video.numbering import NumberStyle, number_frames
from vidllm.video.reader import read_frames

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".flv", ".mpg", ".mpeg", ".ts", ".wmv", ".3gp")
MANIFEST = "manifest.jsonl"
FAILURES = "failures.jsonl"
#: Time base of written clips (the MPEG 90 kHz clock).
CLIP_TIME_BASE = Fraction(1, 90000)


@dataclass(frozen=True)
class ExtractOptions:
    """What to extract from each video.

    Attributes:
        fps: Samples per second. Exclusive with ``num_frames``; when neither is given, NumPro's 0.5.
        num_frames: Samples per video, spread evenly. Exclusive with ``fps``.
        max_frames: Cap on samples per video (spread, never cut off).
        size: Exact output ``(height, width)`` (NumPro squashes to 336 x 336).
        min_pixels: Smallest frame area.
        max_pixels: Largest frame area.
        size_multiple: Output sides are multiples of this; mp4 output also forces even sides.
        number: Draw NumPro frame numbers.
        style: How numbers look (default: NumPro's).
        fmt: ``"mp4"`` (one small H.264 clip) or ``"jpg"`` (a folder of JPEGs).
        backend: Decoding backend (``"auto"``, ``"torchcodec"``, ``"pyav"``, ``"decord"``).
        threads: Decoder threads per video (0: FFmpeg decides).
        crf: H.264 quality for mp4 output (lower is better; 18 is visually lossless).
        jpeg_quality: JPEG quality for jpg output.
    """

    fps: float | None = None
    num_frames: int | None = None
    max_frames: int | None = None
    size: tuple[int, int] | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    size_multiple: int | None = None
    number: bool = False
    style: NumberStyle = field(default_factory=NumberStyle)
    fmt: str = "mp4"
    backend: str = "auto"
    threads: int = 0
    crf: int = 18
    jpeg_quality: int = 95

    def __post_init__(self):
        if self.fmt not in ("mp4", "jpg"):
            raise ValueError(f"fmt must be 'mp4' or 'jpg', got {self.fmt!r}")
        if self.fps is not None and self.num_frames is not None:
            raise ValueError(f"give fps or num_frames, not both (got fps={self.fps}, num_frames={self.num_frames})")
        if self.fps is None and self.num_frames is None:
            object.__setattr__(self, "fps", 0.5)
        if self.fmt == "mp4" and self.size is not None and (self.size[0] % 2 or self.size[1] % 2):
            raise ValueError(f"mp4 output needs even frame sides (yuv420p), got size={self.size}; use fmt='jpg'")


@dataclass
class ExtractSummary:
    """What a run did.

    Attributes:
        done: Ids extracted in this run.
        skipped: Ids already finished by an earlier run.
        failed: ``{id: error message}`` of videos that failed in this run.
        manifest: Path of the manifest.
        failures: Path of the failures file.
    """

    done: list[str]
    skipped: list[str]
    failed: dict[str, str]
    manifest: Path
    failures: Path


def find_videos(spec: str | os.PathLike) -> list[tuple[str, Path]]:
    """The videos to extract, as ``(id, path)``.

    Args:
        spec: A folder (searched recursively for files ending in one of :data:`VIDEO_SUFFIXES`; the id is the path
            relative to the folder without its suffix, e.g. ``"train/abc"``) or a text file with one video path per
            line (blank lines and ``#`` comments ignored; relative paths are relative to the list file; the id is
            the file name without its suffix).

    Returns:
        ``(id, path)`` pairs sorted by id.

    Raises:
        FileNotFoundError: ``spec`` does not exist.
        ValueError: Two videos would get the same id.
    """
    spec = Path(spec)
    if spec.is_dir():
        paths = [p for p in spec.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
        pairs = [(p.relative_to(spec).with_suffix("").as_posix(), p) for p in paths]
    elif spec.is_file():
        pairs = []
        for line in spec.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            p = Path(line)
            p = p if p.is_absolute() else spec.parent / p
            pairs.append((p.stem, p))
    else:
        raise FileNotFoundError(f"{spec}: no such folder of videos or list file")
    seen: dict[str, Path] = {}
    clashes = []
    for vid, p in pairs:
        if vid in seen:
            clashes.append(f"{vid!r} ({seen[vid]} and {p})")
        seen[vid] = p
    if clashes:
        raise ValueError(f"{spec}: several videos would get the same id: {'; '.join(clashes[:5])}; rename them")
    return sorted(pairs)


def _even(n: int) -> int:
    return max(2, n - n % 2)


def write_clip(path: Path, frames: np.ndarray, fps: float, crf: int = 18) -> None:
    """Write frames as an H.264 mp4 in which frame ``k`` is shown from ``k / fps`` to ``(k + 1) / fps`` seconds.

    Args:
        path: Output file (written to a temporary name, then moved into place).
        frames: ``uint8`` array ``(T, H, W, 3)`` with even ``H`` and ``W``.
        fps: Frame rate of the clip.
        crf: x264 constant rate factor.
    """
    import av

    _, h, w, _ = frames.shape
    tmp = path.with_name(path.name + ".part")
    ticks = [round(k / fps / CLIP_TIME_BASE) for k in range(len(frames) + 1)]
    durations = {ticks[k]: ticks[k + 1] - ticks[k] for k in range(len(frames))}
    rate = Fraction(fps).limit_denominator(100_000)
    with av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.time_base = CLIP_TIME_BASE
        stream.options = {"crf": str(crf), "preset": "medium"}

        def mux(packets: Iterable) -> None:
            for packet in packets:
                if packet.pts is not None:
                    packet.duration = durations[packet.pts]
                container.mux(packet)

        for k, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts, frame.time_base = ticks[k], CLIP_TIME_BASE
            mux(stream.encode(frame))
        mux(stream.encode())
    os.replace(tmp, path)


def write_jpegs(folder: Path, frames: np.ndarray, fps: float, quality: int, extra: dict) -> None:
    """Write frames as ``000000.jpg``, ... plus ``frames.json`` (frame ``k`` at ``k / fps`` seconds)."""
    from PIL import Image

    tmp = folder.with_name(folder.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = [f"{k:06d}.jpg" for k in range(len(frames))]
    for name, image in zip(files, frames, strict=True):
        Image.fromarray(image).save(tmp / name, quality=quality)
    meta = {
        "fps": fps,
        "timestamps": [k / fps for k in range(len(frames))],
        "duration": len(frames) / fps,
        "files": files,
        **extra,
    }
    (tmp / FRAMES_JSON).write_text(json.dumps(meta) + "\n", encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def extract_video(video_id: str, source: Path, out_dir: Path, opts: ExtractOptions) -> dict:
    """Extract one video and return its manifest record (raises on failure).

    Args:
        video_id: The video's id (also its output name).
        source: The video file (or frame folder).
        out_dir: The output folder.
        opts: What to extract.

    Returns:
        ``{"id", "path", "source", "format", "duration", "native_fps", "fps", "start", "num_frames", "height",
        "width", "numbered", "number_start", "timestamps"}``; ``path`` is relative to ``out_dir``, ``timestamps``
        are the source presentation times (seconds) of the extracted frames.
    """
    multiple = opts.size_multiple
    if opts.fmt == "mp4":
        multiple = math.lcm(multiple or 1, 2)
    video = read_frames(
        source,
        fps=opts.fps,
        num_frames=opts.num_frames,
        max_frames=opts.max_frames,
        backend=opts.backend,
        size=opts.size,
        min_pixels=opts.min_pixels,
        max_pixels=opts.max_pixels,
        size_multiple=multiple,
        threads=opts.threads,
    )
    if len(video) == 0:
        raise ValueError(f"no frames sampled from a {video.duration:.3f} s video")
    frames = video.frames
    if opts.fmt == "mp4" and (frames.shape[1] % 2 or frames.shape[2] % 2):  # odd native size: drop a pixel row/col
        frames = frames[:, : _even(frames.shape[1]), : _even(frames.shape[2])]
    if opts.number:
        frames = number_frames(frames, opts.style)
    start = float(video.sample_times[0])
    record = {
        "id": video_id,
        "source": str(source),
        "format": opts.fmt,
        "duration": video.duration,
        "native_fps": video.native_fps,
        "fps": video.sample_fps,
        "start": start,
        "num_frames": len(frames),
        "height": int(frames.shape[1]),
        "width": int(frames.shape[2]),
        "numbered": opts.number,
        "number_start": opts.style.start if opts.number else None,
        "timestamps": [round(float(t), 6) for t in video.timestamps],
    }
    if opts.fmt == "mp4":
        rel = Path("videos") / f"{video_id}.mp4"
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        write_clip(out_dir / rel, frames, video.sample_fps, opts.crf)
    else:
        rel = Path("frames") / video_id
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        extra = {"source": str(source), "source_timestamps": record["timestamps"], "start": start}
        write_jpegs(out_dir / rel, frames, video.sample_fps, opts.jpeg_quality, extra)
    return {"id": video_id, "path": rel.as_posix(), **{k: v for k, v in record.items() if k != "id"}}


def _run_one(video_id: str, source: str, out_dir: str, opts: ExtractOptions) -> tuple[str, dict | None, str | None]:
    """Worker entry point: never raises, returns ``(id, record, None)`` or ``(id, None, error)``."""
    try:
        return video_id, extract_video(video_id, Path(source), Path(out_dir), opts), None
    except Exception as e:  # one bad video must not stop the run
        return video_id, None, f"{type(e).__name__}: {e}"


def finished_ids(out_dir: Path) -> set[str]:
    """Ids whose manifest record exists and whose output is on disk (a torn last line is ignored)."""
    manifest = out_dir / MANIFEST
    done: set[str] = set()
    if not manifest.is_file():
        return done
    with manifest.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s: line %d is not valid JSON (an interrupted run?); ignoring it", manifest, lineno)
                continue
            if (out_dir / rec.get("path", "\0")).exists():
                done.add(rec["id"])
    return done


def extract_all(
    videos: list[tuple[str, Path]],
    out_dir: str | os.PathLike,
    opts: ExtractOptions,
    *,
    workers: int = 1,
    progress: bool = True,
) -> ExtractSummary:
    """Extract many videos in parallel worker processes, resumably.

    Args:
        videos: ``(id, path)`` pairs (see :func:`find_videos`).
        out_dir: Output folder (created if needed).
        opts: What to extract.
        workers: Worker processes (1: in this process).
        progress: Show a tqdm progress bar.

    Returns:
        The :class:`ExtractSummary`.
    """
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    already = finished_ids(out)
    todo = [(vid, p) for vid, p in videos if vid not in already]
    skipped = [vid for vid, _ in videos if vid in already]
    if skipped:
        logger.info("%d of %d videos already extracted in %s; skipping them", len(skipped), len(videos), out)
    summary = ExtractSummary(done=[], skipped=skipped, failed={}, manifest=out / MANIFEST, failures=out / FAILURES)
    sources = dict(todo)
    bar = tqdm(total=len(todo), unit="video", desc="extract", disable=not progress)
    with summary.manifest.open("a", encoding="utf-8") as manifest, summary.failures.open("w", encoding="utf-8") as bad:

        def finish(video_id: str, record: dict | None, error: str | None) -> None:
            if record is not None:
                manifest.write(json.dumps(record, ensure_ascii=False) + "\n")
                manifest.flush()
                summary.done.append(video_id)
            else:
                bad.write(json.dumps({"id": video_id, "source": str(sources[video_id]), "error": error}) + "\n")
                bad.flush()
                summary.failed[video_id] = error or "unknown error"
                logger.warning("%s (%s) failed: %s", video_id, sources[video_id], error)
            bar.update(1)
            bar.set_postfix(failed=len(summary.failed))

        if workers <= 1:
            for vid, p in todo:
                finish(*_run_one(vid, str(p), str(out), opts))
        else:
            _run_pool(todo, out, opts, workers, finish)
    bar.close()
    return summary


def _run_pool(todo: list[tuple[str, Path]], out: Path, opts: ExtractOptions, workers: int, finish) -> None:
    """Run :func:`_run_one` over ``todo`` in spawned processes, at most ``2 * workers`` in flight.

    If a worker process dies (a decoder crashing in native code), the videos in flight are reported as failed with
    that reason and a fresh pool carries on with the rest.
    """
    context = multiprocessing.get_context("spawn")
    queue = list(reversed(todo))
    while queue:
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            in_flight: dict[cf.Future, str] = {}
            broken = False
            while (queue or in_flight) and not broken:
                while queue and len(in_flight) < 2 * workers:
                    vid, p = queue.pop()
                    in_flight[pool.submit(_run_one, vid, str(p), str(out), opts)] = vid
                finished, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    vid = in_flight.pop(fut)
                    try:
                        finish(*fut.result())
                    except cf.process.BrokenProcessPool as e:
                        broken = True
                        finish(vid, None, f"a worker process died while this video was in flight ({e}); rerun it")
            if broken:
                for vid in in_flight.values():
                    finish(vid, None, "a worker process died while this video was in flight; rerun to retry")


def options_dict(opts: ExtractOptions) -> dict:
    """The options as a JSON-able dict (for logs and run records)."""
    return asdict(opts)
