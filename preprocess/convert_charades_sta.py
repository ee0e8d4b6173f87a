"""Convert Charades-STA (jiyanggao/TALL charades_sta_{train,test}.txt)
into VTG-IT instructions and `vidllm score` ground truth.

python preprocess/convert_charades_sta.py charades_sta_test.txt --out data/charades_sta \
    --durations Charades_v1_test.csv --video-template 'charades/{vid}.mp4'

Same as `vidllm convert charades_sta ...`; `python preprocess/convert_charades_sta.py --help` lists the options
(--prompt-set, --seed, --scheme, --video-template, --durations, --tasks, --strict). The logic is in
vidllm/data/convert/charades_sta.py.
"""

import sys

from vidllm.cli import main

if __name__ == "__main__":
    sys.exit(main(["convert", "charades_sta", *sys.argv[1:]]))
