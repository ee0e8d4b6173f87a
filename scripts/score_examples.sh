#!/usr/bin/env bash
# bash scripts/score_examples.sh
#
# Scores the small example prediction files in examples/ (cut from TimeChat's published example predictions) with
# `vidllm score`, printing one table per benchmark. Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
VIDLLM=.venv/bin/vidllm
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

$VIDLLM score tvg --sample --pred examples/charades_sta/pred.timechat.json \
  --gt examples/charades_sta/test.caption_coco_format.json
$VIDLLM score hd --pred examples/qvhighlights/pred.timechat.json --gt examples/qvhighlights/highlight_val.jsonl
$VIDLLM score dvc --pred examples/youcook2/pred.timechat.json --gt examples/youcook2/val.caption_coco_format.json
