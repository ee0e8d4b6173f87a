"""Decoding backends, behind one explicit registry.

``"auto"`` picks the first available backend in :data:`AUTO_ORDER`. A backend whose library is missing or cannot
load (torchcodec without FFmpeg's shared libraries, for instance) is simply unavailable; asking for it by name raises
:class:`~vidllm.video.errors.BackendUnavailableError` with the reason.
"""

from __future__ import annotations

import functools

from vidllm.video.backends.base import Backend, Decoded
from vidllm.video.backends.decord import DecordBackend
from vidllm.video.backends.pyav import PyAVBackend
from vidllm.video.backends.torchcodec import TorchCodecBackend
from vidllm.video.errors import BackendUnavailableError, UnknownBackendError

__all__ = [
    "AUTO_ORDER",
    "BACKENDS",
    "Backend",
    "Decoded",
    "available_backends",
    "get_backend",
    "resolve_backend",
]

#: Every backend vidllm knows, by name.
BACKENDS: dict[str, Backend] = {
    "pyav": PyAVBackend(),
    "torchcodec": TorchCodecBackend(),
    "decord": DecordBackend(),
}

#: The order ``backend="auto"`` tries them in. PyAV comes first: it is a core dependency (so the default never
#: depends on an optional extra) and in ``bench/decode.py`` it matched or beat torchcodec on CPU; decord, the slowest
#: and unmaintained, comes last.
AUTO_ORDER: tuple[str, ...] = ("pyav", "torchcodec", "decord")


def get_backend(name: str) -> Backend:
    """The registered backend called ``name`` (available or not).

    Raises:
        UnknownBackendError: No backend has that name; the message lists the valid names.
    """
    try:
        return BACKENDS[name]
    except KeyError:
        valid = ", ".join(repr(n) for n in ["auto", *BACKENDS])
        raise UnknownBackendError(f"unknown video backend {name!r}; valid names are {valid}") from None


@functools.cache
def _reason(name: str) -> str | None:
    return BACKENDS[name].unavailable_reason()


def available_backends() -> list[str]:
    """Names of the backends that can be used here, in :data:`AUTO_ORDER`."""
    return [n for n in AUTO_ORDER if _reason(n) is None]


def resolve_backend(name: str = "auto") -> Backend:
    """The backend to use for ``name`` (``"auto"``: the first available in :data:`AUTO_ORDER`).

    Raises:
        UnknownBackendError: Not a registered name.
        BackendUnavailableError: The named backend (or, for ``"auto"``, every backend) cannot be used here.
    """
    if name == "auto":
        for n in AUTO_ORDER:
            if _reason(n) is None:
                return BACKENDS[n]
        reasons = "; ".join(f"{n}: {_reason(n)}" for n in AUTO_ORDER)
        raise BackendUnavailableError(f"no video backend can be used here ({reasons})")
    backend = get_backend(name)
    reason = _reason(name)
    if reason is not None:
        raise BackendUnavailableError(f"video backend {name!r} is unavailable: {reason}")
    return backend
