"""Typed configuration of a time-aware video LLM: which checkpoint, which runtime, which time components.

Every component is off by default, so ``ModelConfig(family=..., path=...)`` is the stock model. Components compose:

>>> cfg = ModelConfig(
...     family="qwen2_5_vl",
...     path="/models/Qwen2.5-VL-7B-Instruct",
...     time=TimeConfig(scheme="vtgllm", time_tokens=True, time_embedding=True),
...     compression=CompressionConfig(enabled=True, num_slots=256),
... )

The training configuration embeds :class:`ModelConfig`; YAML files are serialised overrides of these fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from vidllm.time import SCHEMES, TimeScheme, get_scheme

# How each scheme writes a frame's time before the frame's visual tokens (``{time}`` is ``scheme.encode(t)``).
# "text" reproduces Qwen3-VL's native ``<12.5 seconds>``.
FRAME_TEXT_TEMPLATES = {
    "text": "<{time} seconds>",
    "vtgllm": "<{time} seconds>",
    "frames": "<Frame {time}>",
    "bins": "<{time}>",
}


@dataclass
class TimeConfig:
    """How the model reads and writes time.

    Attributes:
        scheme: The :mod:`vidllm.time` scheme of answers and frame-time text (``text``, ``vtgllm``, ``frames``,
            ``bins``).
        scheme_kwargs: Extra scheme parameters, e.g. ``{"decimals": 1}`` or ``{"num_bins": 100}``. The ``frames``
            scheme's ``fps`` comes from each video's timestamps and must not be set here.
        time_tokens: Add the scheme's tokens to the vocabulary (VTG-LLM); new embedding rows start from the
            embeddings of the strings the scheme names (``'0'``-``'9'``, ``'.'``) and are trainable under LoRA.
        time_embedding: Add a learned, zero-initialised embedding of each frame's time (one row per integer second,
            fractional seconds interpolate) to every visual token of that frame (VTG-LLM).
        max_seconds: Rows of the time embedding minus one; later times use the last row.
        embedding_init: ``zeros`` (an untrained model is unchanged) or ``sinusoidal`` (rows start as the
            Transformer's sinusoidal code of the second, RMS ``embedding_scale``: the visual tokens carry their order
            before training, which pooling into slots otherwise loses).
        embedding_scale: RMS of a ``sinusoidal`` row.
        frame_text: Write each frame's time (in ``scheme``) before the frame's visual tokens (TimeChat / Qwen3-VL).
            Qwen3-VL always writes its native ``<t seconds>`` text; with ``frame_text`` it uses ``scheme`` instead.
        frame_text_template: Text around the encoded time; ``None`` picks :data:`FRAME_TEXT_TEMPLATES` by scheme.
        numpro: Draw each frame's number on the frame (NumPro) and tell the model what the numbers mean.
    """

    scheme: str = field(default="text", metadata={"help": "time scheme of answers", "choices": sorted(SCHEMES)})
    scheme_kwargs: dict[str, Any] = field(default_factory=dict, metadata={"help": "extra scheme parameters"})
    time_tokens: bool = field(default=False, metadata={"help": "add the scheme's time tokens to the vocabulary"})
    time_embedding: bool = field(default=False, metadata={"help": "learned time embedding on visual tokens"})
    max_seconds: int = field(default=3600, metadata={"help": "largest second with its own time-embedding row"})
    embedding_init: str = field(default="zeros", metadata={"help": "time-embedding start: zeros or sinusoidal",
                                                           "choices": ["zeros", "sinusoidal"]})  # fmt: skip
    embedding_scale: float = field(default=1.0, metadata={"help": "RMS of a sinusoidal time-embedding row"})
    frame_text: bool = field(default=False, metadata={"help": "write each frame's time before its visual tokens"})
    frame_text_template: str | None = field(default=None, metadata={"help": "e.g. '<{time} seconds>'"})
    numpro: bool = field(default=False, metadata={"help": "NumPro: number the frames and explain the numbers"})

    def __post_init__(self):
        if self.scheme not in SCHEMES:
            raise ValueError(f"time.scheme must be one of {sorted(SCHEMES)}, got {self.scheme!r}")
        if self.scheme == "frames" and "fps" in self.scheme_kwargs:
            raise ValueError(
                "time.scheme_kwargs sets fps for the 'frames' scheme, but the fps comes from each video's "
                "timestamps; remove fps from time.scheme_kwargs"
            )
        if self.time_tokens and not self.make_scheme(fps=1.0).new_tokens:
            raise ValueError(
                f"time.time_tokens=True but the {self.scheme!r} scheme adds no tokens; "
                "use scheme='vtgllm' or 'bins', or set time_tokens=False"
            )
        if self.max_seconds < 1:
            raise ValueError(f"time.max_seconds must be >= 1, got {self.max_seconds}")
        if self.embedding_init not in ("zeros", "sinusoidal") or not self.embedding_scale > 0:
            raise ValueError(f"time.embedding_init must be zeros or sinusoidal and embedding_scale > 0, got "
                             f"{self.embedding_init!r}, {self.embedding_scale}")  # fmt: skip
        if self.frame_text_template is not None and "{time}" not in self.frame_text_template:
            raise ValueError(
                f"time.frame_text_template must contain '{{time}}', got {self.frame_text_template!r}; "
                "e.g. '<{time} seconds>'"
            )

    def make_scheme(self, fps: float | None = None) -> TimeScheme:
        """The configured scheme; ``fps`` (frames per second of the sampling) is used by the ``frames`` scheme."""
        kwargs = dict(self.scheme_kwargs)
        if self.scheme == "frames":
            kwargs["fps"] = fps
        return get_scheme(self.scheme, **kwargs)

    def template(self) -> str:
        """The frame-time text template in use."""
        return self.frame_text_template or FRAME_TEXT_TEMPLATES[self.scheme]


@dataclass
class CompressionConfig:
    """Slot-based visual token compression (VTG-LLM): K learned slots per video (or per frame).

    Attributes:
        enabled: Compress the visual tokens of videos.
        num_slots: K, the number of tokens the LLM sees per video (``per="video"``) or per frame (``per="frame"``).
        per: ``video`` pools all tokens of a video into K slots; ``frame`` pools each temporal group (2 frames)
            into K slots, which keeps per-frame time text possible.
        iterations: 0 for one softmax pooling step (VTG-LLM); > 0 for that many slot-attention refinements.
    """

    enabled: bool = field(default=False, metadata={"help": "compress visual tokens into learned slots"})
    num_slots: int = field(default=256, metadata={"help": "slots per video or per frame"})
    per: Literal["video", "frame"] = field(default="video", metadata={"choices": ["video", "frame"]})
    iterations: int = field(default=0, metadata={"help": "slot-attention iterations (0 = single pooling)"})

    def __post_init__(self):
        if self.per not in ("video", "frame"):
            raise ValueError(f"compression.per must be 'video' or 'frame', got {self.per!r}")
        if self.num_slots < 1:
            raise ValueError(f"compression.num_slots must be >= 1, got {self.num_slots}")
        if self.iterations < 0:
            raise ValueError(f"compression.iterations must be >= 0, got {self.iterations}")


@dataclass
class LoraSettings:
    """LoRA on the language model only; time-token rows train through peft's ``trainable_token_indices``.

    Attributes:
        r: LoRA rank.
        alpha: LoRA alpha.
        dropout: LoRA dropout.
        modules: Names of the language model's linear layers to adapt.
        modules_to_save: Names of whole modules trained fully next to LoRA and saved in the adapter (peft's
            ``modules_to_save``), e.g. ``("merger",)`` for the vision-language projector.
    """

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    modules_to_save: tuple[str, ...] = ()


@dataclass
class ModelConfig:
    """A model: family, checkpoint (folder or Hub id), runtime and time components.

    Attributes:
        family: Adapter name, a key of :data:`vidllm.models.MODELS`.
        path: A Hugging Face checkpoint: a local folder or a Hub id (``Qwen/Qwen2.5-VL-7B-Instruct``, through the
            Hugging Face cache), or a folder written by ``adapter.save`` (a LoRA run brings its base).
        dtype: ``auto`` (bfloat16 on GPU/NPU, float32 on CPU), ``bfloat16``, ``float16`` or ``float32``.
        attn_implementation: ``auto`` (``flash_attention_2`` when flash-attn imports and a CUDA GPU is used, else
            ``sdpa``), ``flash_attention_2``, ``sdpa`` or ``eager``.
        device: ``auto`` (CUDA, else Ascend NPU through ``torch_npu``, else CPU), ``cpu``, ``cuda``, ``cuda:1``,
            ``npu``...
        frame_min_pixels: Lower bound of pixels per frame after resizing (``None``: the processor's default).
        frame_max_pixels: Upper bound of pixels per frame after resizing (``None``: the processor's default).
        time: Time components.
        compression: Visual token compression.
        seed: Seed of the random initialisation of new modules (slots), so a base checkpoint plus a config always
            gives the same model.
    """

    family: str = field(
        default="qwen2_5_vl",
        metadata={"help": "adapter name", "choices": ["qwen2_vl", "qwen2_5_vl", "qwen3_vl", "longva", "videollama"]},
    )
    path: str = field(default="", metadata={"help": "checkpoint folder, Hub id or vidllm run folder"})
    dtype: str = field(default="auto", metadata={"choices": ["auto", "bfloat16", "float16", "float32"]})
    attn_implementation: str = field(
        default="auto", metadata={"choices": ["auto", "flash_attention_2", "sdpa", "eager"]}
    )
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda[:n] or npu[:n]"})
    frame_min_pixels: int | None = field(default=None, metadata={"help": "min pixels per frame"})
    frame_max_pixels: int | None = field(default=None, metadata={"help": "max pixels per frame"})
    time: TimeConfig = field(default_factory=TimeConfig)
    compression: CompressionConfig = field(default_factory=CompressionConfig)
    seed: int = 0

    def __post_init__(self):
        if isinstance(self.time, dict):
            self.time = TimeConfig(**self.time)
        if isinstance(self.compression, dict):
            self.compression = CompressionConfig(**self.compression)
        if self.dtype not in ("auto", "bfloat16", "float16", "float32"):
            raise ValueError(f"dtype must be auto, bfloat16, float16 or float32, got {self.dtype!r}")
        if self.attn_implementation not in ("auto", "flash_attention_2", "sdpa", "eager"):
            raise ValueError(
                f"attn_implementation must be auto, flash_attention_2, sdpa or eager, got {self.attn_implementation!r}"
            )
        if self.compression.enabled and self.compression.per == "video" and self.time.frame_text:
            raise ValueError(
                "time.frame_text=True needs each frame's tokens in the prompt, but compression.per='video' pools "
                "all frames into one set of slots; set compression.per='frame' or time.frame_text=False"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for JSON/YAML)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)
