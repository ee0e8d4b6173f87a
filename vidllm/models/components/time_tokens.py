"""Absolute-time tokens (VTG-LLM): a time scheme's tokens in the tokenizer and the model's embeddings.

New tokens are ordinary (non-special) added tokens, so ``decode(..., skip_special_tokens=True)`` keeps them and the
parser in :mod:`vidllm.time` reads them back. Like digits in Qwen's tokenizer, a run of time tokens after a space is
preceded by the single-space token (``' 12.5'`` is ``Ġ 1 2 . 5``; ``' <TIME_ONE>...'`` is ``Ġ <TIME_ONE> ...``), so
``decode(encode(text)) == text`` and the new rows, initialised from the digits, sit where digits sat in pretraining.
"""

from __future__ import annotations

import contextlib
import logging

import torch
from tokenizers import AddedToken
from torch import nn

from vidllm.time import TimeScheme

logger = logging.getLogger(__name__)


def add_time_tokens(tokenizer, scheme: TimeScheme) -> tuple[list[int], list[int]]:
    """Add the scheme's tokens to ``tokenizer`` (in place) unless they are there already.

    Args:
        tokenizer: A Hugging Face tokenizer.
        scheme: The time scheme; its ``new_tokens`` are added.

    Returns:
        ``(ids, added)``: the ids of all the scheme's tokens, in ``scheme.new_tokens`` order, and the ids of the
        tokens this call added (empty when the tokenizer had them, e.g. one saved by ``adapter.save``).
    """
    vocab = tokenizer.get_vocab()
    missing = [t for t in scheme.new_tokens if t not in vocab]
    if missing:
        tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in missing])
    ids = tokenizer.convert_tokens_to_ids(list(scheme.new_tokens))
    added = [i for t, i in zip(scheme.new_tokens, ids) if t in missing]
    return list(ids), added


def fit_embeddings(model, vocab_size: int) -> None:
    """Grow the input (and untied output) embeddings to ``vocab_size`` rows; never shrink them.

    Qwen checkpoints carry spare rows (151,936 rows for a 151,665-token tokenizer), so time tokens usually fit without
    a resize; new rows from a resize start at zero and are set by :func:`init_time_token_rows`.
    """
    weight = model.get_input_embeddings().weight
    rows = getattr(weight, "ds_shape", weight.shape)[0]  # DeepSpeed ZeRO-3 keeps the full shape in ds_shape
    if vocab_size > rows:
        logger.info("resizing token embeddings from %d to %d rows", rows, vocab_size)
        model.resize_token_embeddings(vocab_size, mean_resizing=False)


def init_rows_from(tokenizer, scheme: TimeScheme) -> dict[int, list[int]]:
    """For each of the scheme's tokens, the ids whose embeddings initialise its row.

    Returns:
        ``{token id: [source ids]}``; the sources are the ids of the strings :meth:`TimeScheme.init_tokens` names.

    Raises:
        ValueError: When a source string does not tokenize to at least one id.
    """
    sources: dict[int, list[int]] = {}
    for token, strings in scheme.init_tokens().items():
        ids: list[int] = []
        for s in strings:
            got = tokenizer.encode(s, add_special_tokens=False)
            if not got:
                raise ValueError(f"init string {s!r} of time token {token!r} tokenizes to nothing; fix the scheme")
            ids.extend(got)
        sources[tokenizer.convert_tokens_to_ids(token)] = ids
    return sources


@torch.no_grad()
def init_time_token_rows(model, sources: dict[int, list[int]]) -> None:
    """Set each new token's input (and untied output) embedding row to the mean of its source rows.

    Args:
        model: A Hugging Face model with ``get_input_embeddings`` / ``get_output_embeddings``.
        sources: ``{token id: [source ids]}`` from :func:`init_rows_from`.
    """
    layers: list[nn.Module] = [model.get_input_embeddings()]
    out = model.get_output_embeddings()
    if out is not None and out.weight is not layers[0].weight:
        layers.append(out)
    with _gathered([layer.weight for layer in layers]):
        for layer in layers:
            weight = layer.weight
            for token_id, src in sources.items():
                weight[token_id] = weight[torch.tensor(src, device=weight.device)].float().mean(0).to(weight.dtype)


def _gathered(params: list[nn.Parameter]):
    """Under DeepSpeed ZeRO-3 (parameters partitioned at load), the full parameters for the duration of the block,
    rank 0's changes kept; otherwise nothing. Every rank must enter it (it is a collective)."""
    if not any(hasattr(p, "ds_id") for p in params):
        return contextlib.nullcontext()
    import deepspeed

    return deepspeed.zero.GatheredParameters(params, modifier_rank=0)
