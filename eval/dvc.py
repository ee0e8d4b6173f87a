"""Dense video captioning: YouCook2, ActivityNet Captions (CIDER, METEOR, SODA_c, F1, Para_*; TimeChat's eval_dvc.py).

    python eval/dvc.py --model_path BASE --lora_path ADAPTER --dataset youcook2
    python eval/dvc.py --config eval_configs/activitynet_dvc.yaml --model_path BASE --no_java   # no METEOR/SODA_c

The ground-truth file name must start with its split (val.), as the official evaluator takes the split from it.
METEOR and the PTB tokenizer need Java. Rerunning the same command resumes.
"""

import sys

from vidllm.eval.run_cli import main

if __name__ == "__main__":
    sys.exit(main("dvc"))
