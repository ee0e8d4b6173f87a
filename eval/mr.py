"""Moment retrieval / temporal grounding: Charades-STA, ActivityNet Captions grounding, QVHighlights MR.

    python eval/mr.py --model_path BASE --lora_path ADAPTER --dataset charades_sta
    python eval/mr.py --config eval_configs/charades_sta.yaml --model_path BASE --lora_path ADAPTER --plots
    torchrun --nproc_per_node=8 eval/mr.py --config eval_configs/activitynet_grounding.yaml --model_path BASE

Writes OUTPUT/samples.jsonl (one line per query), pred.timechat.json (TimeChat's format; QVHighlights:
submission.jsonl) and results.json (R1@0.3/0.5/0.7, mIoU or the MR-* keys), and prints the table. Rerunning the same
command resumes. ``python eval/mr.py --help`` lists every flag; ``key=value`` sets any EvalConfig field.
"""

import sys

from vidllm.eval.run_cli import main

if __name__ == "__main__":
    sys.exit(main("mr"))
