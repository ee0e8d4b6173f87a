"""Sample, resize, optionally number (NumPro), and write every video of a dataset as a small clip plus a manifest.

    python preprocess/extract_frames.py --videos DIR_OR_LIST --out DIR --fps 0.5 [--number] [--max-pixels N] \
        [--workers K] [--format mp4|jpg]

NumPro's own preprocessing (0.5 fps, 336 x 336, numbered):

    python preprocess/extract_frames.py --videos data/anet/videos --out data/anet/numpro --fps 0.5 \
        --size 336x336 --number --workers 4

Writes OUT/videos/<id>.mp4 (or OUT/frames/<id>/*.jpg with frames.json), OUT/manifest.jsonl (id, path, source,
duration, native_fps, fps, timestamps, ...) and OUT/failures.jsonl (one line per video that failed, with its error).
Rerunning skips finished videos and retries failed ones. Exit status: 0 when every video was extracted, 2 when
some failed (they are listed in failures.jsonl), 1 on bad arguments.
"""

from __future__ import annotations

import sys

from vidllm.video.extract_cli import main

if __name__ == "__main__":
    sys.exit(main(prog="extract_frames.py"))
