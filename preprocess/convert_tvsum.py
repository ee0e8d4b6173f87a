"""Convert TVSum (ydata-tvsum50-anno.tsv with ydata-tvsum50-info.tsv)
into VTG-IT instructions and `vidllm score` ground truth.

python preprocess/convert_tvsum.py ydata-tvsum50-anno.tsv --info ydata-tvsum50-info.tsv --out data/tvsum

Same as `vidllm convert tvsum ...`; `python preprocess/convert_tvsum.py --help` lists the options
(--prompt-set, --seed, --scheme, --video-template, --durations, --tasks, --strict). The logic is in
vidllm/data/convert/tvsum.py.
"""

import sys

from vidllm.cli import main

if __name__ == "__main__":
    sys.exit(main(["convert", "tvsum", *sys.argv[1:]]))
