"""Convert ActivityNet Captions (train.json, val_1.json, val_2.json)
into VTG-IT instructions and `vidllm score` ground truth.

python preprocess/convert_activitynet.py val_2.json --out data/activitynet --split val --tasks dvc,mr

Same as `vidllm convert activitynet ...`; `python preprocess/convert_activitynet.py --help` lists the options
(--prompt-set, --seed, --scheme, --video-template, --durations, --tasks, --strict). The logic is in
vidllm/data/convert/activitynet.py.
"""

import sys

from vidllm.cli import main

if __name__ == "__main__":
    sys.exit(main(["convert", "activitynet", *sys.argv[1:]]))
