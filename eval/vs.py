"""Video summarization on TVSum: top-5 mAP as UMT/UniVTG report it, and the keyshot summary F1.

    python eval/vs.py --model_path BASE --lora_path ADAPTER --dataset tvsum
    python eval/vs.py --config eval_configs/tvsum.yaml --model_path BASE --plots

The ground truth is what `vidllm convert tvsum` writes (per-2-s-clip scores of the 20 annotators); the question is
the highlight prompt with the video's title as the query. Rerunning the same command resumes.
"""

import sys

from vidllm.eval.run_cli import main

if __name__ == "__main__":
    sys.exit(main("vs"))
