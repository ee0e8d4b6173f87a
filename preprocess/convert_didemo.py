"""Convert DiDeMo (LisaAnne/LocalizingMoments {train,val,test}_data.json)
into VTG-IT instructions and `vidllm score` ground truth.

python preprocess/convert_didemo.py test_data.json --out data/didemo

Same as `vidllm convert didemo ...`; `python preprocess/convert_didemo.py --help` lists the options
(--prompt-set, --seed, --scheme, --video-template, --durations, --tasks, --strict). The logic is in
vidllm/data/convert/didemo.py.
"""

import sys

from vidllm.cli import main

if __name__ == "__main__":
    sys.exit(main(["convert", "didemo", *sys.argv[1:]]))
