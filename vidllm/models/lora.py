"""LoRA on the language model only, with the time-token rows trainable and nothing else of the embeddings.

Target modules are the language model's linear layers by full name, so the vision tower's MLPs, which reuse the
names ``gate_proj`` / ``up_proj`` / ``down_proj`` in Qwen2.5-VL, are never wrapped. The time-token rows of the input
(and untied output) embeddings train through peft's ``trainable_token_indices``; the time embedding and slots stay
fully trainable.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from vidllm.models.components.video_hook import attached

LANGUAGE_MODEL_PREFIX = "model.language_model."


def language_model_linear_names(model, modules: Sequence[str]) -> list[str]:
    """Full names of the language model's ``nn.Linear`` layers whose last name part is in ``modules``.

    Args:
        model: A Hugging Face Qwen-VL ``*ForConditionalGeneration`` (not peft-wrapped).
        modules: Short names, e.g. ``("q_proj", "v_proj")``.

    Raises:
        ValueError: When nothing matches (names that do not exist in this family).
    """
    names = [
        name
        for name, module in model.named_modules()
        if name.startswith(LANGUAGE_MODEL_PREFIX)
        and isinstance(module, nn.Linear)
        and name.rsplit(".", 1)[-1] in modules
    ]
    if not names:
        raise ValueError(f"no linear layer of the language model is called one of {list(modules)}")
    return names


def module_name(model, module: nn.Module) -> str:
    """The full name of ``module`` inside ``model``."""
    for name, m in model.named_modules():
        if m is module:
            return name
    raise ValueError("module not found in model")


def apply_lora(
    model,
    *,
    target_modules: list[str],
    time_token_ids: Sequence[int],
    r: int,
    alpha: int,
    dropout: float,
    modules_to_save: Sequence[str] = (),
):
    """Wrap ``model`` with LoRA.

    Args:
        model: A Hugging Face Qwen-VL model with vidllm modules attached.
        target_modules: Full names from :func:`language_model_linear_names`.
        time_token_ids: Rows of the input (and untied output) embeddings to train.
        r: LoRA rank.
        alpha: LoRA alpha.
        dropout: LoRA dropout.
        modules_to_save: Modules trained fully and saved with the adapter (e.g. ``["merger"]``).

    Returns:
        The ``peft.PeftModel``.
    """
    from peft import LoraConfig, get_peft_model

    trainable = None
    if time_token_ids:
        inputs = model.get_input_embeddings()
        trainable = {module_name(model, inputs): list(time_token_ids)}
        outputs = model.get_output_embeddings()
        if outputs is not None and outputs.weight is not inputs.weight:
            trainable[module_name(model, outputs)] = list(time_token_ids)
    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        trainable_token_indices=trainable,
        modules_to_save=list(modules_to_save) or None,
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, config)
    attached(peft_model).requires_grad_(True)
    return peft_model


def apply_lora_settings(model, settings, *, target_modules: list[str], time_token_ids: Sequence[int]):
    """:func:`apply_lora` with the rank, alpha, dropout and saved modules of a
    :class:`~vidllm.models.config.LoraSettings`."""
    return apply_lora(
        model,
        target_modules=target_modules,
        time_token_ids=time_token_ids,
        r=settings.r,
        alpha=settings.alpha,
        dropout=settings.dropout,
        modules_to_save=settings.modules_to_save,
    )
