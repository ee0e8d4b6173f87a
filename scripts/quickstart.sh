#!/usr/bin/env bash
# bash scripts/quickstart.sh [key=value ...]        e.g. output_dir=qs  steps=1500  ablation=[all]  rl=true
#
# The main job, offline on a CPU: sets up .venv (scripts/setup.sh), then `vidllm quickstart` generates a synthetic
# video grounding benchmark, trains a tiny time-aware Qwen2-VL from scratch on fresh synthetic samples, trains the
# same model blind (frames shuffled in time), evaluates both on held-out videos (in distribution and at shifted rates
# and lengths) with the eval runner and prints them
# beside the best constant answer. Everything goes to quickstart_out/ (summary.md, eval/*/plots/timeline.png).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}   # 2 busy OpenMP threads next to the data worker run far slower
export TOKENIZERS_PARALLELISM=false
.venv/bin/vidllm quickstart "$@"
