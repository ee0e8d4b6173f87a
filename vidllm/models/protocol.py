"""What every model adapter provides. Adapters share one core (:class:`vidllm.models.base.VideoAdapterBase`) and
are registered in :data:`vidllm.models.MODELS`.

Typical use::

    adapter = from_pretrained("Qwen/Qwen2.5-VL-7B-Instruct")        # or get_adapter(family)(ModelConfig(...)).load()
    sample = adapter.build_inputs(messages, [(frames, timestamps)])     # frames uint8 (T,H,W,3), seconds (T,)
    loss = adapter.forward(adapter.collate([sample])).loss
    texts = adapter.generate(adapter.collate([prompt], padding_side="left"), max_new_tokens=64)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch

from vidllm.models.config import LoraSettings, ModelConfig


@runtime_checkable
class FramesWithTimes(Protocol):
    """A sampled video as :mod:`vidllm.video` returns it."""

    frames: np.ndarray  # uint8 (T, H, W, 3)
    timestamps: np.ndarray  # float64 (T,) seconds


@runtime_checkable
class VideoLLMAdapter(Protocol):
    """A family of video LLMs made time-aware by the components of its :class:`ModelConfig`.

    Attributes:
        name: Registry name (``qwen2_5_vl``...).
        config: The effective configuration (after :meth:`load`, the components of a saved folder).
        model: The Hugging Face model (peft-wrapped after :meth:`apply_lora`); ``None`` before :meth:`load`.
        processor: The checkpoint's processor; ``None`` before :meth:`load`.
        time_token_ids: Vocabulary ids of the time tokens (empty without ``time.time_tokens``).
    """

    name: ClassVar[str]
    config: ModelConfig
    model: Any
    processor: Any
    time_token_ids: list[int]

    def load(self, path: str | Path | None = None, *, trainable: bool = False) -> VideoLLMAdapter:
        """Load a checkpoint folder or Hub id (a base checkpoint or one written by :meth:`save`); returns ``self``.

        The shared implementation (:class:`vidllm.models.base.VideoAdapterBase`) also takes ``base=`` (a LoRA run
        over another copy of its base)."""
        ...

    def build_inputs(
        self,
        messages: Sequence[dict],
        videos: Sequence[FramesWithTimes | tuple[np.ndarray, np.ndarray]] = (),
        *,
        add_generation_prompt: bool = False,
        durations: Sequence[float | None] | None = None,
    ) -> dict[str, torch.Tensor]:
        """One sample's model inputs; labels cover the assistant turns (none with ``add_generation_prompt``)."""
        ...

    def collate(self, samples: Sequence[dict[str, torch.Tensor]], *, padding_side: str = "right") -> dict:
        """Batch samples from :meth:`build_inputs` (``left`` padding for generation)."""
        ...

    def forward(self, batch: dict[str, torch.Tensor]) -> Any:
        """Run the model; with ``labels`` the output has ``loss``."""
        ...

    def generate(self, batch: dict[str, torch.Tensor], **gen_kwargs: Any) -> list[str]:
        """Generate and decode the new text of each row."""
        ...

    def lora_target_modules(self, modules: Sequence[str] = LoraSettings.modules) -> list[str]:
        """Full names of the language model's linear layers to adapt (never the vision tower's)."""
        ...

    def apply_lora(self, settings: LoraSettings) -> None:
        """Wrap the model with LoRA; time-token rows, time embedding and slots stay trainable."""
        ...

    def save(self, out_dir: str | Path, *, state_dict: dict | None = None) -> Path:
        """Write everything vidllm added (and the LoRA adapter or full weights); :meth:`load` reads it back.

        ``state_dict`` is the model's gathered state when its parameters are sharded (DeepSpeed ZeRO-3).
        """
        ...
