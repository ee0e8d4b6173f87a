"""OMP_NUM_THREADS=1 python bench/decode.py [--repeats 3] [--fps 1 2] [--cache DIR] [--json OUT.json]

Decoding speed: sampled frames per second at 1 and 2 fps on a 5-minute 480p video.

Compares every installed vidllm backend (``read_frames``) with qwen-vl-utils' ``fetch_video`` (with each of its
readers that is installed) on the same file in the same run, at the same output size (the size ``fetch_video``
picks under Qwen2-VL's video pixel budget). Contenders run interleaved, and the best of ``--repeats`` runs is
reported, so load from other processes hurts them alike.

The floor is decoding only what is needed: for every sampled frame, the frames from its keyframe up to it (each
once), at this machine's full-decode rate (PyAV, FFmpeg's own threads), plus one scaled colour conversion per sampled
frame. The table shows each contender's speed as a fraction of that floor and as a ratio to ``fetch_video``.

The test video (854x480, 30 fps, 300 s, H.264, 2-s GOPs, B-frames; ~24 MB) is generated on first use into
``--cache`` (default ``$XDG_CACHE_HOME/vidllm/bench`` or ``~/.cache/vidllm/bench``), which takes a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

from vidllm.video import available_backends, read_frames
from vidllm.video.index import build_index, frames_shown_at
from vidllm.video.resize import fit_pixels
from vidllm.video.sampling import plan_samples

HEIGHT, WIDTH, FPS, SECONDS = 480, 854, 30, 300
#: Qwen2-VL's per-frame video budget in qwen-vl-utils: 128..768 tokens of 28x28 pixels.
MIN_PIXELS, MAX_PIXELS, MULTIPLE = 128 * 28 * 28, 768 * 28 * 28, 28


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vidllm" / "bench"


def make_video(
    path: Path, seconds: float = SECONDS, *, fps: int = FPS, height: int = HEIGHT, width: int = WIDTH
) -> Path:
    """Encode a test video, by default the 5-minute 480p one (moving gradients, bands and a square: real motion,
    real B-frames; H.264, 2-s GOPs). Also used by ``bench/latency.py`` and ``bench/loader.py``."""
    import av
    from tqdm import tqdm

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    yy, xx = np.mgrid[0:height, 0:width]
    waves = (np.sin(xx / 37.0) * np.cos(yy / 23.0) * 60 + 128).astype(np.uint8)
    ramp = (yy % 256).astype(np.uint8)
    bands = ((xx // 8 * 8) % 256).astype(np.uint8)
    img = np.empty((height, width, 3), np.uint8)
    with av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "26", "g": str(2 * fps)}
        for i in tqdm(range(int(fps * seconds)), desc=f"generating {path.name}", unit="frame"):
            img[..., 0] = np.roll(waves, 3 * i, axis=1)
            np.add(ramp, np.uint8((2 * i) % 256), out=img[..., 1])
            img[..., 2] = np.roll(bands, -5 * i, axis=1)
            y0, x0 = (i * 3) % (height - 60), (i * 7) % (width - 60)
            img[y0 : y0 + 60, x0 : x0 + 60] = (i * 13) % 256
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, path)
    return path


def cpu_seconds() -> float:
    """CPU time of this process so far, all threads (decoder threads included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Timer:
    """Wall and CPU seconds of a block; keeps the best (smallest) of each per name in ``best``."""

    def __init__(self, best: dict, name: str):
        self.best, self.name = best, name

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc):
        wall, cpu = time.perf_counter() - self.wall, cpu_seconds() - self.cpu
        old = self.best.get(self.name, (np.inf, np.inf))
        self.best[self.name] = (min(old[0], wall), min(old[1], cpu))


def needed_frames(path: Path, fps: float) -> tuple[int, int]:
    """(sampled frames, frames that must be decoded to get them: keyframe..target for each, counted once)."""
    index = build_index(path)
    targets = np.unique(frames_shown_at(plan_samples(index.duration, fps=fps).times, index.times))
    keys = np.flatnonzero(index.keyframes)
    needed = np.zeros(index.num_frames, dtype=bool)
    for t in targets:
        needed[keys[np.searchsorted(keys, t, side="right") - 1] : t + 1] = True
    return len(targets), int(needed.sum())


def decode_rate(path: Path) -> float:
    """Frames per second decoding the whole file, no colour conversion (PyAV, FFmpeg threads)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start, n = time.perf_counter(), 0
        for _ in container.decode(stream):
            n += 1
        return n / (time.perf_counter() - start)


def convert_cost(path: Path, size: tuple[int, int], n: int = 60) -> float:
    """Seconds per frame to scale-convert a decoded frame to RGB at ``size`` (libswscale, bilinear)."""
    import av
    from av.video.reformatter import VideoReformatter

    with av.open(str(path)) as container:
        frames = [f for _, f in zip(range(n), container.decode(video=0), strict=False)]
    reformatter = VideoReformatter()
    start = time.perf_counter()
    for f in frames:
        reformatter.reformat(f, width=size[1], height=size[0], format="rgb24", interpolation="BILINEAR").to_ndarray()
    return (time.perf_counter() - start) / len(frames)


def qwen_readers() -> list[str]:
    """qwen-vl-utils' video readers that can run here (empty when qwen-vl-utils is not installed)."""
    try:
        from qwen_vl_utils import vision_process
    except ImportError:
        return []
    readers = []
    if vision_process.is_torchcodec_available() and "torchcodec" in available_backends():
        readers.append("torchcodec")
    if vision_process.is_decord_available():
        readers.append("decord")
    return readers


def run_qwen(path: Path, fps: float, reader: str) -> tuple[int, tuple[int, int]]:
    """Run ``fetch_video`` with one of its readers; returns (frames, (height, width))."""
    from qwen_vl_utils import vision_process

    vision_process.FORCE_QWENVL_VIDEO_READER = reader
    vision_process.get_video_reader_backend.cache_clear()
    video = vision_process.fetch_video({"type": "video", "video": str(path), "fps": fps})
    return int(video.shape[0]), (int(video.shape[2]), int(video.shape[3]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=default_cache(), help="where the test video is kept")
    p.add_argument("--repeats", type=int, default=3, help="runs per contender; the best is reported")
    p.add_argument("--fps", type=float, nargs="+", default=[1.0, 2.0], help="sampling rates to measure")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)

    path = args.cache / f"decode_{HEIGHT}p_{SECONDS}s.mp4"
    if not path.is_file():
        make_video(path)
    backends = available_backends()
    readers = qwen_readers()
    print(
        f"video: {path} ({path.stat().st_size / 2**20:.0f} MB); vidllm backends: {', '.join(backends)}; "
        f"qwen-vl-utils readers: {', '.join(readers) or 'not installed'}; {os.cpu_count()} CPUs",
        flush=True,
    )

    results: dict = {"video": str(path), "fps": {}}
    for fps in args.fps:
        sampled, needed = needed_frames(path, fps)
        size = fit_pixels(HEIGHT, WIDTH, MIN_PIXELS, MAX_PIXELS, MULTIPLE)
        best: dict[str, tuple[float, float]] = {}  # name -> (best wall s, best CPU s)
        rate, convert = 0.0, np.inf
        for rep in range(args.repeats):
            for reader in readers:  # first, so vidllm can be asked for the size fetch_video chose
                with Timer(best, f"qwen-vl-utils fetch_video ({reader})"):
                    n, size = run_qwen(path, fps, reader)
                if n != sampled:
                    print(f"  note: fetch_video returned {n} frames, vidllm {sampled}", flush=True)
            for name in backends:
                with Timer(best, f"vidllm {name}"):
                    out = read_frames(path, fps=fps, size=size, backend=name)
                assert len(out) == sampled
            rate = max(rate, decode_rate(path))  # the floor's ingredients, measured in the same repeats
            convert = min(convert, convert_cost(path, size))
            print(
                f"  fps {fps:g} repeat {rep + 1}/{args.repeats}: "
                + ", ".join(f"{k} {v[0]:.1f}s ({v[1]:.1f} CPU s)" for k, v in best.items()),
                flush=True,
            )
        floor = needed / rate + sampled * convert
        results["fps"][fps] = {
            "sampled": sampled,
            "needed": needed,
            "size": size,
            "decode_rate": rate,
            "floor_seconds": floor,
            "seconds": best,
        }

    default = backends[0] if backends else None
    print()
    print("| reader |" + "".join(f" {fps:g} fps: frames/s | CPU s | vs fetch_video | of floor |" for fps in args.fps))
    print("|---|" + "---:|---:|---:|---:|" * len(args.fps))
    names = [f"vidllm {b}" for b in backends] + [f"qwen-vl-utils fetch_video ({r})" for r in readers]
    for name in names:
        row = f"| {name}{' (default)' if name == f'vidllm {default}' else ''} |"
        for fps in args.fps:
            r = results["fps"][fps]
            wall, cpu = r["seconds"][name]
            reference = [v[0] for k, v in r["seconds"].items() if k.startswith("qwen") and "torchcodec" in k] or [
                v[0] for k, v in r["seconds"].items() if k.startswith("qwen")
            ]
            vs = f"{reference[0] / wall:.2f}x" if reference else "n/a"
            row += f" {r['sampled'] / wall:.1f} | {cpu:.1f} | {vs} | {r['floor_seconds'] / wall:.0%} |"
        print(row)
    runs = [results["fps"][f] for f in args.fps]
    floor_cells = [f" {r['sampled'] / r['floor_seconds']:.1f} | | | 100% |" for r in runs]
    print("| floor (decode only what is needed) |" + "".join(floor_cells))
    print()
    for fps in args.fps:
        r = results["fps"][fps]
        print(
            f"{fps:g} fps: {r['sampled']} frames at {r['size'][0]}x{r['size'][1]}; {r['needed']} of "
            f"{FPS * SECONDS} frames must be decoded; full decode {r['decode_rate']:.0f} frames/s; "
            f"floor {r['floor_seconds']:.1f} s"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
