"""Highlight detection on QVHighlights (HL-min-{Fair,Good,VeryGood}-{mAP,Hit1}), scored as TimeChat's eval_vhd.py.

    python eval/hd.py --model_path BASE --lora_path ADAPTER --dataset qvhighlights
    python eval/hd.py --config eval_configs/qvhighlights.yaml --model_path BASE --tasks mr,vhd   # full submission

With ``--tasks mr,vhd`` each query is asked both questions and OUTPUT/submission.jsonl is a complete moment_detr
submission, scored as moment_detr's standalone_eval (MR-* and HL-* keys). Rerunning the same command resumes.
"""

import sys

from vidllm.eval.run_cli import main

if __name__ == "__main__":
    sys.exit(main("hd"))
