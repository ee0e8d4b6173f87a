"""Time-awareness components: pure functions and small modules of tensors and plain data.

* :mod:`~vidllm.models.components.time_tokens` -- add a time scheme's tokens to a tokenizer and model (VTG-LLM).
* :mod:`~vidllm.models.components.time_embedding` -- learned per-second embedding added to visual tokens (VTG-LLM).
* :mod:`~vidllm.models.components.timestamp_text` -- each frame's time written before its tokens (TimeChat, Qwen3-VL).
* :mod:`~vidllm.models.components.slots` -- slot-based visual token compression (VTG-LLM).
* :mod:`~vidllm.models.components.numbering` -- NumPro frame numbers and the sentence that explains them.
* :mod:`~vidllm.models.components.positions` -- M-RoPE position ids for any layout of text and visual tokens.
* :mod:`~vidllm.models.components.video_hook` -- where the components attach to a Hugging Face Qwen-VL model.
"""
