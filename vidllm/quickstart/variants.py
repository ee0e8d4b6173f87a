"""The time components the quickstart can train, by name: the rows of its ablation table.

Each variant is the ``time`` / ``compression`` part of a :class:`~vidllm.models.config.ModelConfig`; everything else
(model, data, budget) is the same for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vidllm.models.config import CompressionConfig, TimeConfig


@dataclass(frozen=True)
class Variant:
    """A named choice of time components.

    Attributes:
        name: Registry key.
        description: One line for the tables.
        time: The time components.
        compression: Visual token compression.
    """

    name: str
    description: str
    time: TimeConfig
    compression: CompressionConfig = field(default_factory=CompressionConfig)


SINUSOIDAL = {"embedding_init": "sinusoidal", "embedding_scale": 0.05}
"""A time embedding that starts as the sinusoidal code of the second, at about the RMS (0.05) of the scratch model's
visual tokens: pooling all of a video's tokens into slots keeps their order only through what was added to them,
and a zero-initialised embedding gives the slots no order to start from."""

WHOLE_SECONDS = {"decimals": 0}
"""Frame times and answers in whole seconds (``<6 seconds>``, ``6 - 10 seconds``): the synthetic events start and end
on whole seconds, so an answer copies the digits of a frame's time. With one decimal (``<6.3 seconds>`` before the
frame, ``6.0 - 10.0 seconds`` in the answer) the answer's tenths are never a frame time's, and the from-scratch model
stayed at the answer prior for the 1000 steps of the default budget; it left it at about step 700 of a 2000-step run
(docs/quickstart.md, "Why frame_text stayed at the answer prior")."""

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("plain", "text times; frame order only through M-RoPE positions", TimeConfig(scheme="text")),
        Variant("frame_text", "text times in whole seconds; each frame's time written before it",
                TimeConfig(scheme="text", scheme_kwargs=WHOLE_SECONDS, frame_text=True)),
        Variant("time_tokens", "VTG-LLM time tokens in answers and before frames",
                TimeConfig(scheme="vtgllm", time_tokens=True, frame_text=True)),
        Variant("time_embedding", "text times; learned time embedding added to visual tokens",
                TimeConfig(scheme="text", time_embedding=True)),
        Variant("slots", "sinusoidal time embedding, then 8 slots per video (VTG-LLM compression)",
                TimeConfig(scheme="text", time_embedding=True, **SINUSOIDAL),
                CompressionConfig(enabled=True, num_slots=8)),
        Variant("numpro", "frame numbers drawn on frames; answers in frame numbers (NumPro)",
                TimeConfig(scheme="frames", numpro=True)),
    )
}  # fmt: skip


def get_variant(name: str) -> Variant:
    """The variant registered as ``name``; an unknown name raises ``ValueError`` listing the valid ones."""
    if name not in VARIANTS:
        raise ValueError(f"unknown quickstart variant {name!r}; valid variants: {', '.join(VARIANTS)}")
    return VARIANTS[name]
