"""Slot-based visual token compression (VTG-LLM): all visual tokens of a video (or of each frame) -> K slots.

Each slot is a softmax-weighted average of the input tokens, weighted by how well the token's key matches the slot's
learned query. The one-step form is VTG-LLM's (96 frames -> 256 slots). With ``iterations > 0`` the queries are
refined by slot attention (slots compete for tokens through a softmax over slots, then a GRU updates each slot from
its share), and the output is still a weighted average of the input tokens -- so the same weights can pool any other
per-token features (Qwen3-VL's DeepStack features) and whatever was added to the tokens before (the time embedding)
survives in the slots.
"""

from __future__ import annotations

import torch
from torch import nn


class SlotCompressor(nn.Module):
    """``(batch, tokens, dim) -> (batch, num_slots, dim)`` by learned slot queries.

    Args:
        dim: Token width (the LLM's hidden size).
        num_slots: K, slots per input set.
        iterations: 0 for a single softmax pooling; > 0 for that many slot-attention refinements of the queries.
    """

    def __init__(self, dim: int, num_slots: int, iterations: int = 0):
        super().__init__()
        self.num_slots = int(num_slots)
        self.iterations = int(iterations)
        self.scale = dim**-0.5
        self.queries = nn.Parameter(torch.randn(num_slots, dim) * dim**-0.5)
        self.norm_tokens = nn.LayerNorm(dim)
        self.to_k = nn.Linear(dim, dim, bias=False)
        if self.iterations:
            self.norm_slots = nn.LayerNorm(dim)
            self.to_q = nn.Linear(dim, dim, bias=False)
            self.gru = nn.GRUCell(dim, dim)

    def pooling_weights(self, tokens: torch.Tensor) -> torch.Tensor:
        """How much each token contributes to each slot.

        Args:
            tokens (`torch.Tensor` of shape `(batch, n, dim)`): Input tokens.

        Returns:
            `torch.FloatTensor` of shape `(batch, num_slots, n)`, rows summing to 1 over the tokens.
        """
        normed = self.norm_tokens(tokens.to(self.queries.dtype))
        keys = self.to_k(normed).float()
        slots = self.queries.unsqueeze(0).expand(tokens.shape[0], -1, -1)
        if not self.iterations:
            return torch.softmax(slots.float() @ keys.transpose(1, 2) * self.scale, dim=-1)
        values = normed
        weights = None
        for _ in range(self.iterations):
            queries = self.to_q(self.norm_slots(slots)).float()
            attn = torch.softmax(queries @ keys.transpose(1, 2) * self.scale, dim=1) + 1e-8  # slots compete
            weights = attn / attn.sum(dim=-1, keepdim=True)
            updates = weights.to(values.dtype) @ values
            batch, k, dim = slots.shape
            slots = self.gru(updates.reshape(-1, dim), slots.reshape(-1, dim)).reshape(batch, k, dim)
        return weights

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Compress.

        Args:
            tokens (`torch.Tensor` of shape `(batch, n, dim)`): Input tokens.

        Returns:
            ``(slots, weights)``: `(batch, num_slots, dim)` in the tokens' dtype and the
            `(batch, num_slots, n)` pooling weights.
        """
        weights = self.pooling_weights(tokens)
        return weights.to(tokens.dtype) @ tokens, weights

    def extra_repr(self) -> str:
        return f"num_slots={self.num_slots}, iterations={self.iterations}"


def compress_video(
    features: torch.Tensor, groups: int, compressor: SlotCompressor, per: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Compress one video's visual tokens.

    Args:
        features (`torch.Tensor` of shape `(groups * tokens_per_group, dim)`): The video's tokens, group-major.
        groups: Number of temporal groups.
        compressor: The slot module.
        per: ``video`` (K slots for the whole video) or ``frame`` (K slots per group).

    Returns:
        ``(slots, weights)``: slots of shape `(K, dim)` (``video``) or `(groups * K, dim)` (``frame``), and the
        pooling weights of shape `(1, K, n)` or `(groups, K, tokens_per_group)` for :func:`pool_like`.
    """
    if per == "video":
        slots, weights = compressor(features.unsqueeze(0))
        return slots.squeeze(0), weights
    per_group = features.view(groups, -1, features.shape[-1])
    slots, weights = compressor(per_group)
    return slots.reshape(-1, features.shape[-1]), weights


def pool_like(features: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Pool other per-token features of the same video with the weights :func:`compress_video` returned.

    Args:
        features (`torch.Tensor` of shape `(n_total, dim2)`): Features aligned with the compressed tokens.
        weights (`torch.Tensor` of shape `(b, K, n)`): Pooling weights, with ``b * n == n_total``.

    Returns:
        `torch.Tensor` of shape `(b * K, dim2)`.
    """
    b = weights.shape[0]
    pooled = weights.to(features.dtype) @ features.view(b, -1, features.shape[-1])
    return pooled.reshape(-1, features.shape[-1])
