"""Where and how a model runs: device, dtype and attention implementation, resolved from ``auto``.

* device: CUDA when available, else an Ascend NPU through ``torch_npu``, else CPU.
* dtype: bfloat16 on GPU/NPU, float32 on CPU.
* attention: ``flash_attention_2`` when flash-attn imports and the device is a CUDA GPU, else ``sdpa``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from dataclasses import dataclass

import torch

logger = logging.getLogger(__name__)

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


@dataclass(frozen=True)
class Runtime:
    """Resolved device, dtype and attention implementation."""

    device: torch.device
    dtype: torch.dtype
    attn_implementation: str


def npu_available() -> bool:
    """Whether an Ascend NPU is usable (``torch_npu`` importable and a device present)."""
    if importlib.util.find_spec("torch_npu") is None:
        return False
    try:
        importlib.import_module("torch_npu")
    except Exception as e:  # a broken CANN install must not stop CPU/GPU users
        logger.warning("torch_npu is installed but failed to import: %s", e)
        return False
    return bool(getattr(torch, "npu", None) and torch.npu.is_available())


def flash_attn_available() -> bool:
    """Whether the ``flash_attn`` package imports."""
    if importlib.util.find_spec("flash_attn") is None:
        return False
    try:
        importlib.import_module("flash_attn")
    except Exception as e:
        logger.info("flash_attn is installed but does not import (%s); using sdpa", e)
        return False
    return True


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` -> ``cuda``, else ``npu``, else ``cpu``; anything else is passed to :class:`torch.device`."""
    if device != "auto":
        if device.startswith("npu") and not npu_available():
            raise ValueError(f"device={device!r} but no Ascend NPU is usable; install torch_npu or use cpu/cuda")
        try:
            parsed = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(f"device={device!r} is not a device name; use auto, cpu, cuda[:n] or npu[:n]") from None
        if parsed.type == "cuda":
            _check_cuda(device)
        return parsed
    if torch.cuda.is_available():
        return torch.device("cuda")
    if npu_available():
        return torch.device("npu")
    return torch.device("cpu")


def _check_cuda(device: str) -> None:
    """Refuse a CUDA device this machine does not have (a one-line error instead of a failure inside loading)."""
    if not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but no CUDA GPU is usable here (torch {torch.__version__}, "
            f"CUDA build {torch.version.cuda or 'none'}); use device=cpu, or auto to take what is there"
        )
    index = torch.device(device).index
    if index is not None and index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} but this machine has {torch.cuda.device_count()} CUDA device(s) "
            f"(cuda:0 to cuda:{torch.cuda.device_count() - 1}); pick one of them"
        )


def resolve_runtime(device: str = "auto", dtype: str = "auto", attn_implementation: str = "auto") -> Runtime:
    """Resolve the ``auto`` choices of a :class:`~vidllm.models.config.ModelConfig`.

    Raises:
        ValueError: For ``flash_attention_2`` without a CUDA device or without flash-attn.
    """
    dev = resolve_device(device)
    accelerator = dev.type in ("cuda", "npu")
    if dtype == "auto":
        torch_dtype = torch.bfloat16 if accelerator else torch.float32
    else:
        torch_dtype = DTYPES[dtype]
    if attn_implementation == "auto":
        attn = "flash_attention_2" if dev.type == "cuda" and flash_attn_available() else "sdpa"
    else:
        attn = attn_implementation
        if attn == "flash_attention_2" and not (dev.type == "cuda" and flash_attn_available()):
            raise ValueError(
                f"attn_implementation='flash_attention_2' needs flash-attn and a CUDA device, got device={dev} "
                f"and flash-attn {'importable' if flash_attn_available() else 'not importable'}; use 'sdpa'"
            )
    return Runtime(dev, torch_dtype, attn)
