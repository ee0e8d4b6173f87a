"""Real checkpoints (skipped by default): point VIDLLM_QWEN2_5_VL_7B / VIDLLM_QWEN3_VL at a local folder.

    VIDLLM_QWEN2_5_VL_7B=/models/Qwen2.5-VL-7B-Instruct OMP_NUM_THREADS=1 .venv/bin/python -m pytest -m slow \\
        tests/models/test_real_checkpoints.py
"""

from __future__ import annotations

import os

import pytest
import torch

from vidllm.models import CompressionConfig, ModelConfig, TimeConfig, get_adapter
from vidllm.models.tiny import synthetic_video, video_messages

CHECKPOINTS = {"qwen2_5_vl": "VIDLLM_QWEN2_5_VL_7B", "qwen2_vl": "VIDLLM_QWEN2_VL", "qwen3_vl": "VIDLLM_QWEN3_VL"}


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(CHECKPOINTS))
def test_real_checkpoint_with_every_component(family):
    folder = os.environ.get(CHECKPOINTS[family])
    if not folder:
        pytest.skip(f"set {CHECKPOINTS[family]} to a local {family} checkpoint folder")
    config = ModelConfig(
        family=family,
        path=folder,
        frame_max_pixels=224 * 224,
        frame_min_pixels=112 * 112,
        time=TimeConfig(scheme="vtgllm", time_tokens=True, time_embedding=True, frame_text=True),
        compression=CompressionConfig(enabled=True, num_slots=16, per="frame"),
    )
    adapter = get_adapter(family)(config).load()
    video = synthetic_video(16, fps=1.0, size=224)
    answer = config.time.make_scheme().format_span(3.0, 7.0)
    batch = adapter.collate([adapter.build_inputs(video_messages(answer=answer), [video])])
    loss = adapter.forward(batch).loss
    assert torch.isfinite(loss)
    prompt = adapter.collate(
        [adapter.build_inputs(video_messages(), [video], add_generation_prompt=True)], padding_side="left"
    )
    assert isinstance(adapter.generate(prompt, max_new_tokens=8)[0], str)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_runtime_defaults(tmp_path):
    from vidllm.models.runtime import flash_attn_available
    from vidllm.models.tiny import write_tiny_checkpoint

    folder = write_tiny_checkpoint("qwen2_5_vl", tmp_path / "tiny")
    adapter = get_adapter("qwen2_5_vl")(ModelConfig(path=str(folder))).load()
    param = next(adapter.model.parameters())
    assert param.device.type == "cuda" and param.dtype == torch.bfloat16
    expected = "flash_attention_2" if flash_attn_available() else "sdpa"
    assert adapter.model.config._attn_implementation == expected
