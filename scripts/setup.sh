#!/usr/bin/env bash
# bash scripts/setup.sh
#
# Everything vidllm needs on a fresh machine, idempotent: a virtualenv in .venv with torch + torchvision, then
# vidllm with its test tools. TORCH_SPEC picks the torch build (the default pins the release this project is
# tested with; on a machine with a local wheel cache it installs without a multi-GB download).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}

# System packages, when we may install them (root on Debian): FFmpeg's shared libraries let the torchcodec backend
# load (PyAV and decord work without them); chromium runs the demo's browser test (skipped without it).
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  missing=()
  ldconfig -p | grep -q libavcodec.so.59 || missing+=(libavcodec59 libavformat59 libavutil57 libswscale6 libswresample4
    libavdevice59 libavfilter8)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then
    (apt-get update -qq && apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
      || echo "setup: could not install ${missing[*]}; torchcodec / the browser test stay off"
  fi
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first and pinned, so that nothing below pulls another (CUDA, several GB) build of it
# shellcheck disable=SC2086
.venv/bin/python -m pip install -q $TORCH_SPEC
.venv/bin/python -m pip install -q -e ".[dev,torchcodec,decord,deepspeed,demo,rl]"

# The transformers releases the Qwen-VL models shipped with: tests/models/test_stock_pipeline.py reads their position
# and processor code from these wheels as its oracle (never installed, never copied into the repository; ~22 MB).
# Without them (offline) those tests skip and say so.
REFERENCE_WHEELS=${VIDLLM_REFERENCE_WHEELS:-$HOME/.cache/vidllm/reference-wheels}
mkdir -p "$REFERENCE_WHEELS"
for version in 4.49.0 4.57.1; do
  [ -f "$REFERENCE_WHEELS/transformers-$version-py3-none-any.whl" ] \
    || .venv/bin/python -m pip download -q --no-deps "transformers==$version" -d "$REFERENCE_WHEELS" \
    || echo "setup: could not download transformers==$version into $REFERENCE_WHEELS; the stock-pipeline tests skip"
done

# lmms-eval (the vidllm[lmms-eval] extra, docs/lmms-eval.md) pins av<16 and pulls ~60 packages; it gets a second
# virtualenv, .venv-lmms, that sees .venv's packages through a .pth line (torch and the rest are not installed
# again) and holds only av 15, filelock 3 (lmms-eval 0.7.3 imports filelock._api, gone in filelock 4), lmms-eval
# and the few packages its evaluator imports, shadowing .venv's.
# tests/integrations/test_lmms_eval*.py use it and skip without it. LMMS_EVAL=0 skips this block.
if [ "${LMMS_EVAL:-1}" != 0 ]; then
  [ -x .venv-lmms/bin/python ] || .venv/bin/python -m venv --without-pip .venv-lmms
  site_of() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
  site_of .venv/bin/python > "$(site_of .venv-lmms/bin/python)/_vidllm_base_venv.pth"
  .venv-lmms/bin/python -m pip install -q "av>=15,<16" "filelock>=3.16,<4" loguru sacrebleu evaluate tenacity \
    aiohttp pytablewriter
  .venv-lmms/bin/python -m pip install -q --no-deps lmms-eval==0.7.3  # last: its other ~50 requirements stay out
  .venv-lmms/bin/python -m pip install -q --no-deps --no-build-isolation -e .  # its entry point: --model vidllm
fi
echo "setup: done ($(.venv/bin/python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
