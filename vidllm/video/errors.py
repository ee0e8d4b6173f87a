"""Errors raised by the video input layer.

Every message names the file, says what went wrong and how to fix it, so one look at a failed batch is enough.
"""

from __future__ import annotations

import os


class VideoDecodeError(RuntimeError):
    """A video file exists but could not be decoded: unreadable, truncated, empty or not a video.

    Args:
        path: The file that failed.
        backend: The decoder that tried (``"torchcodec"``, ``"decord"``, ``"pyav"``, ``"folder"``).
        message: The decoder's own message (or ours, for problems found before decoding).

    Attributes:
        path: As given.
        backend: As given.
        reason: ``message`` as given, without the fix-it hint.
    """

    def __init__(self, path: str | os.PathLike, backend: str, message: str):
        self.path, self.backend, self.reason = str(path), backend, message
        super().__init__(
            f"{path}: could not decode the video with {backend}: {message.rstrip('. ')}. "
            "Check that the file plays (e.g. `ffprobe FILE`); re-encode or re-download it if it does not, "
            "or try another backend (backend='pyav' | 'decord' | 'torchcodec')."
        )

    def __reduce__(self):  # keep the three fields when the error crosses a process boundary (worker pools)
        return (type(self), (self.path, self.backend, self.reason))


class UnknownBackendError(ValueError):
    """A backend name that is not registered; the message lists the valid names."""


class BackendUnavailableError(RuntimeError):
    """A registered backend whose library is not installed or cannot load; the message says why and how to fix it."""
