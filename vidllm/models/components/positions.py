"""M-RoPE position ids (temporal, height, width) for any layout of text and visual tokens.

Qwen-VL models give text tokens one position on all three axes and visual tokens a 3-D grid position. This is
the rule the released Qwen2-VL / Qwen2.5-VL / Qwen3-VL models were trained with: a visual block starts at the next
free position ``p``; its tokens get ``(p + floor(t * time_interval * time_scale), p + y, p + x)`` (computed in
float32 in that order, as the releases do); the text after it starts at one past the largest position used so far.
(transformers 5.x advances text by ``max(h, w)`` only and ignores the temporal extent, so after a long video the
text overlaps the video's temporal positions; ``tests/models/test_stock_pipeline.py`` checks against the releases.)
With Qwen2.5-VL's ``time_interval = seconds_per_group`` and ``time_scale = tokens_per_second`` the temporal position
is absolute time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from vidllm.models.components.layout import Segment

TEXT, IMAGE, VIDEO = 0, 1, 2


def segment_positions(segment: Segment, start: int, device=None) -> torch.Tensor:
    """Positions of one visual block.

    Args:
        segment: The block's grid.
        start: First free position.
        device: Device of the result.

    Returns:
        `torch.LongTensor` of shape `(3, t * h * w)`.
    """
    t = torch.arange(segment.t, device=device)
    if (segment.time_interval, segment.time_scale) != (1.0, 1.0):
        # as Qwen2.5-VL's release computes it: (t * seconds per group) * tokens per second, in float32, truncated
        interval = torch.tensor(segment.time_interval, dtype=torch.float32, device=device)
        t = (t * interval * segment.time_scale).long()
    h = torch.arange(segment.h, device=device)
    w = torch.arange(segment.w, device=device)
    tt, hh, ww = torch.meshgrid(t, h, w, indexing="ij")
    return torch.stack([tt.reshape(-1), hh.reshape(-1), ww.reshape(-1)]) + start


def _runs(types: list[int]) -> Iterator[tuple[int, int, int]]:
    """``(type, begin, end)`` of each run of equal values."""
    begin = 0
    for i in range(1, len(types) + 1):
        if i == len(types) or types[i] != types[begin]:
            yield types[begin], begin, i
            begin = i


def mrope_position_ids(
    mm_token_type_ids: torch.Tensor,
    image_segments: Sequence[Segment] = (),
    video_segments: Sequence[Segment] = (),
    attention_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """3-D positions of a batch.

    Args:
        mm_token_type_ids (`torch.IntTensor` of shape `(batch, seq)`): 0 text, 1 image, 2 video per token.
        image_segments: Segments of all images in the batch, in order (row by row, left to right).
        video_segments: Segments of all videos in the batch, in order.
        attention_mask (`torch.Tensor` of shape `(batch, seq)`, *optional*): 0 marks padding, which gets
            position 0 and is not counted.

    Returns:
        ``(position_ids, rope_deltas)``: `torch.LongTensor` of shape `(3, batch, seq)` and of shape `(batch, 1)`,
        the offset between the next position and the sequence length (for decoding).

    Raises:
        ValueError: When a run of visual tokens does not match the segments' sizes.
    """
    batch, seq = mm_token_type_ids.shape
    device = mm_token_type_ids.device
    positions = torch.zeros(3, batch, seq, dtype=torch.long, device=device)
    deltas = torch.zeros(batch, 1, dtype=torch.long, device=device)
    pending = {IMAGE: list(image_segments)[::-1], VIDEO: list(video_segments)[::-1]}
    for row in range(batch):
        keep = attention_mask[row].bool() if attention_mask is not None else torch.ones(seq, dtype=torch.bool)
        types = mm_token_type_ids[row][keep.to(device)].tolist()
        pieces = []
        nxt = 0
        for kind, begin, end in _runs(types):
            if kind == TEXT:
                pieces.append(torch.arange(end - begin, device=device).expand(3, -1) + nxt)
                nxt += end - begin
                continue
            left = end - begin
            while left > 0:
                if not pending.get(kind):
                    name = "image" if kind == IMAGE else "video"
                    raise ValueError(
                        f"{left} {name} placeholder tokens in row {row} have no {name} grid left; the prompt must "
                        f"hold exactly the placeholders of the {name}s passed (build inputs with the adapter)"
                    )
                segment = pending[kind].pop()
                if segment.size > left:
                    raise ValueError(
                        f"a visual block of {segment.size} tokens ({segment}) meets a run of {left} placeholders "
                        f"in row {row}; the prompt's placeholders do not follow the model's layout"
                    )
                block = segment_positions(segment, nxt, device)
                pieces.append(block)
                nxt = int(block.max()) + 1
                left -= segment.size
        if pieces:
            row_positions = torch.cat(pieces, dim=1)
            positions[:, row, keep.to(device)] = row_positions
            deltas[row, 0] = int(row_positions.max()) + 1 - len(types)
    leftover = {k: len(v) for k, v in pending.items() if v}
    if leftover:
        raise ValueError(
            f"visual grids without placeholders in the prompt: {leftover}; one placeholder block per grid"
        )
    return positions, deltas
