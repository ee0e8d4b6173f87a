"""Where a video's visual tokens stand in the prompt, and how many there are.

A layout is fixed by the configuration: with or without frame-time text, with or without compression. From it
follow both the placeholder text that replaces a video's ``<|video_pad|>`` in the chat template (so the prompt has
exactly as many placeholders as the LLM receives visual tokens) and the M-RoPE segments of the video
(:mod:`~vidllm.models.components.positions`). Sizes are in LLM tokens, i.e. after the 2x2 spatial merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    """A block of visual tokens laid out as a ``t x h x w`` grid for M-RoPE.

    Attributes:
        t: Temporal size.
        h: Height.
        w: Width.
        time_interval: Temporal position step between consecutive ``t`` before :attr:`time_scale` (Qwen2.5-VL:
            seconds per group, ``second_per_grid_ts``; otherwise 1).
        time_scale: Second factor of the step (Qwen2.5-VL: ``tokens_per_second``). The temporal index of group
            ``g`` is ``floor(float32(float32(g * time_interval) * time_scale))``, the release's order and dtype.
    """

    t: int
    h: int
    w: int
    time_interval: float = 1.0
    time_scale: float = 1.0

    @property
    def size(self) -> int:
        return self.t * self.h * self.w


@dataclass(frozen=True)
class VideoLayout:
    """How one video's visual tokens are laid out.

    Attributes:
        frame_text: Each group is ``<time text><|vision_start|> tokens <|vision_end|>`` (Qwen3-VL's layout);
            otherwise all the video's tokens form one block.
        slots_per_video: K when all the video's tokens are compressed into K slots.
        slots_per_frame: K when each group's tokens are compressed into K slots.
    """

    frame_text: bool = False
    slots_per_video: int | None = None
    slots_per_frame: int | None = None

    def __post_init__(self):
        if self.slots_per_video and (self.frame_text or self.slots_per_frame):
            raise ValueError("per-video slots leave no frames to write times before or to pool separately")

    def tokens_per_group(self, native: int) -> int:
        """Tokens per group given the encoder's ``native`` count (``grid_h * grid_w / merge**2``)."""
        return self.slots_per_frame or native

    def num_tokens(self, groups: int, native: int) -> int:
        """LLM tokens of a video of ``groups`` groups."""
        if self.slots_per_video:
            return self.slots_per_video
        return groups * self.tokens_per_group(native)

    def segments(
        self, groups: int, height: int, width: int, time_interval: float = 1.0, time_scale: float = 1.0
    ) -> list[Segment]:
        """The M-RoPE segments of a video, in prompt order.

        Args:
            groups: Temporal groups.
            height: Merged grid height (``grid_h // merge``).
            width: Merged grid width.
            time_interval: Temporal position step per group when the video is one block (see :class:`Segment`).
            time_scale: Second factor of that step.

        Returns:
            One segment per group when frame text separates the groups, else one segment. Compressed tokens lie
            on a ``1 x K`` row.
        """
        if self.slots_per_video:
            return [Segment(1, 1, self.slots_per_video)]
        h, w = (1, self.slots_per_frame) if self.slots_per_frame else (height, width)
        if self.frame_text:
            return [Segment(1, h, w) for _ in range(groups)]
        return [Segment(groups, h, w, time_interval, time_scale)]

    def placeholder(
        self,
        groups: int,
        native: int,
        *,
        pad: str,
        vision_start: str,
        vision_end: str,
        texts: Sequence[str] | None = None,
    ) -> str:
        """The text that replaces a video's single placeholder token in the chat template.

        Args:
            groups: Temporal groups.
            native: Encoder tokens per group.
            pad: The video placeholder token (``<|video_pad|>``).
            vision_start: ``<|vision_start|>``.
            vision_end: ``<|vision_end|>``.
            texts: With ``frame_text``, the time text of each group.

        Returns:
            The expanded placeholder text.
        """
        if not self.frame_text:
            return pad * self.num_tokens(groups, native)
        if texts is None or len(texts) != groups:
            got = None if texts is None else len(texts)
            raise ValueError(f"frame-time text needs one text per frame group: expected {groups}, got {got}")
        per = pad * self.tokens_per_group(native)
        return "".join(f"{text}{vision_start}{per}{vision_end}" for text in texts)
