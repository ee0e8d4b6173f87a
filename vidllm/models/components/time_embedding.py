"""Learned time embedding added to visual tokens (VTG-LLM's timestamp-aware visual tokens).

One row per integer second, zero-initialised so an untrained model is unchanged (or, with ``init="sinusoidal"``,
the Transformer's sinusoidal code of the second, so that the tokens carry their time before any training); a
fractional time mixes its two neighbouring rows linearly, and times past ``max_seconds`` use the last row.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class TimeEmbedding(nn.Module):
    """``seconds -> vector``: a table of ``max_seconds + 1`` rows, linearly interpolated.

    Args:
        max_seconds: Last second with its own row.
        dim: Width of the vectors (the LLM's hidden size, as it is added to merged visual tokens).
        init: ``zeros`` or ``sinusoidal`` (:func:`sinusoidal_table`).
        scale: RMS of a sinusoidal row.
    """

    def __init__(self, max_seconds: int, dim: int, init: str = "zeros", scale: float = 1.0):
        super().__init__()
        self.max_seconds = int(max_seconds)
        self.table = nn.Embedding(self.max_seconds + 1, dim)
        if init == "sinusoidal":
            with torch.no_grad():
                self.table.weight.copy_(sinusoidal_table(self.max_seconds + 1, dim) * scale)
        elif init == "zeros":
            nn.init.zeros_(self.table.weight)
        else:
            raise ValueError(f"time embedding init must be zeros or sinusoidal, got {init!r}")

    def forward(self, seconds: torch.Tensor) -> torch.Tensor:
        """Embed times.

        Args:
            seconds (`torch.FloatTensor` of shape `(n,)`): Times in seconds (>= 0).

        Returns:
            `torch.Tensor` of shape `(n, dim)` in the table's dtype.
        """
        t = seconds.to(device=self.table.weight.device, dtype=torch.float32).clamp(0, self.max_seconds)
        lo = t.floor().long()
        hi = (lo + 1).clamp(max=self.max_seconds)
        frac = (t - lo.float()).unsqueeze(-1).to(self.table.weight.dtype)
        return self.table(lo) * (1 - frac) + self.table(hi) * frac

    def extra_repr(self) -> str:
        return f"max_seconds={self.max_seconds}"


def sinusoidal_table(rows: int, dim: int, base: float = 10000.0) -> torch.Tensor:
    """Row ``t``: ``sin`` / ``cos`` of ``t`` at ``dim // 2`` geometric frequencies (period 2*pi to ``2*pi*base``)
    times ``sqrt(2)``, so each row has RMS 1 (an odd ``dim`` leaves the last column 0).

    Returns:
        `torch.FloatTensor` of shape `(rows, dim)`.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(base) * torch.arange(half, dtype=torch.float64) / max(half, 1))
    angles = torch.arange(rows, dtype=torch.float64)[:, None] * freqs[None, :]
    table = torch.zeros(rows, dim, dtype=torch.float64)
    table[:, 0 : 2 * half : 2] = torch.sin(angles)
    table[:, 1 : 2 * half : 2] = torch.cos(angles)
    return (table * math.sqrt(2.0)).float()


def add_time_embedding(features: torch.Tensor, times: torch.Tensor, embedding: TimeEmbedding) -> torch.Tensor:
    """Add each group's time embedding to all of its tokens.

    Args:
        features (`torch.Tensor` of shape `(groups * tokens_per_group, dim)`): Visual tokens of one video, group-major.
        times (`torch.FloatTensor` of shape `(groups,)`): Each group's time in seconds.
        embedding: The time embedding.

    Returns:
        `torch.Tensor` of the same shape and dtype as ``features``.
    """
    groups = times.shape[0]
    if features.shape[0] % groups:
        raise ValueError(
            f"{features.shape[0]} visual tokens do not split into {groups} frame groups; pass one time per "
            "temporal group (video_timestamps) for each video"
        )
    vectors = embedding(times).to(features.dtype)
    per = features.shape[0] // groups
    return features + vectors.repeat_interleave(per, dim=0)
