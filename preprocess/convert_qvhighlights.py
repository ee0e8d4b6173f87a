"""Convert QVHighlights (highlight_{train,val}_release.jsonl)
into VTG-IT instructions and `vidllm score` ground truth.

python preprocess/convert_qvhighlights.py highlight_val_release.jsonl --out data/qvhighlights --tasks vhd,mr

Same as `vidllm convert qvhighlights ...`; `python preprocess/convert_qvhighlights.py --help` lists the options
(--prompt-set, --seed, --scheme, --video-template, --durations, --tasks, --strict). The logic is in
vidllm/data/convert/qvhighlights.py.
"""

import sys

from vidllm.cli import main

if __name__ == "__main__":
    sys.exit(main(["convert", "qvhighlights", *sys.argv[1:]]))
