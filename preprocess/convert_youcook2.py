"""Convert YouCook2 (youcookii_annotations_trainval.json; one split per run)
into VTG-IT instructions and `vidllm score` ground truth.

python preprocess/convert_youcook2.py youcookii_annotations_trainval.json --out data/youcook2 --split val

Same as `vidllm convert youcook2 ...`; `python preprocess/convert_youcook2.py --help` lists the options
(--prompt-set, --seed, --scheme, --video-template, --durations, --tasks, --strict). The logic is in
vidllm/data/convert/youcook2.py.
"""

import sys

from vidllm.cli import main

if __name__ == "__main__":
    sys.exit(main(["convert", "youcook2", *sys.argv[1:]]))
