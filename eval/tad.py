"""Temporal action detection as grounding: Charades, ActivityNet v1.3, Ego4D moment queries (class-name queries).

    python eval/tad.py --model_path BASE --lora_path ADAPTER --dataset charades_tad
    python eval/tad.py --config eval_configs/activitynet_tad.yaml --model_path BASE --lora_path ADAPTER
    torchrun --nproc_per_node=8 eval/tad.py --config eval_configs/charades_tad.yaml --model_path BASE --lora_path A

Every (video, class) is one question ("Find every moment where someone is holding some clothes."; ``tad_queries=
present`` asks only the classes in the video). Writes OUTPUT/samples.jsonl, pred.tad.json (an ActivityNet detection
submission: ``vidllm score tad --pred pred.tad.json --gt GT --protocol charades`` gives the same numbers) and
results.json (mAP, mAP@t, Rk@t), and prints the table. Rerunning the same command resumes.
"""

import sys

from vidllm.eval.run_cli import main

if __name__ == "__main__":
    sys.exit(main("tad"))
