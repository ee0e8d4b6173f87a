"""Time schemes: how a number of seconds is written in a prompt or an answer, and read back.

Every scheme gives the same four things:

* ``encode(seconds)`` -> the text of one time point, ``decode(text)`` -> seconds (or ``None``),
* ``format_span(start, end)`` -> the text of an interval, as answers write it,
* ``format_point(seconds)`` -> the text of one moment, as highlight answers write it,
* ``new_tokens`` -> the tokens the scheme adds to a tokenizer (empty for schemes written in plain text),
* ``init_tokens`` -> for each new token, the existing strings whose embeddings initialise its row,
* ``writes(text)`` -> whether a text writes its times this scheme's way (a format check, e.g. for RL rewards).

Schemes are chosen by name through :func:`get_scheme`; :data:`SCHEMES` lists them. Relative and frame-based
schemes need the video's ``duration`` or the sampling ``fps``: both are passed when the scheme is built or per call.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

# VTG-LLM's absolute-time vocabulary: one token per digit and one for the decimal point.
VTGLLM_DIGIT_NAMES = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")
VTGLLM_DIGIT_TOKENS = tuple(f"<TIME_{n}>" for n in VTGLLM_DIGIT_NAMES)
VTGLLM_DOT_TOKEN = "<TIME_DOT>"
VTGLLM_TOKEN_TO_CHAR = {**{t: str(i) for i, t in enumerate(VTGLLM_DIGIT_TOKENS)}, VTGLLM_DOT_TOKEN: "."}

# Both forms count: the padded one VTG-LLM writes at inference ("0012.5") and the unpadded one of its training data.
_DECIMAL = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*")
# Any scheme's time token (VTG-LLM digits, relative bins): a text scheme's answer has none of them.
_TIME_TOKEN = re.compile(r"<TIME_[A-Z]+>|<t\d+>")
_FRAME_WORD = re.compile(r"\bframes?\b", re.IGNORECASE)


@runtime_checkable
class TimeScheme(Protocol):
    """What every time scheme provides (see the module docstring)."""

    name: str
    new_tokens: tuple[str, ...]

    def encode(self, seconds: float, *, duration: float | None = None) -> str: ...

    def decode(self, text: str, *, duration: float | None = None) -> float | None: ...

    def format_span(self, start: float, end: float, *, duration: float | None = None) -> str: ...

    def format_point(self, seconds: float, *, duration: float | None = None) -> str: ...

    def init_tokens(self) -> dict[str, list[str]]: ...

    def resolution(self, *, duration: float | None = None) -> float: ...

    def writes(self, text: str) -> bool: ...


def _check_seconds(seconds: float) -> float:
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a time must be a finite number of seconds >= 0, got {seconds!r}")
    return float(seconds)


@dataclass(frozen=True)
class TextScheme:
    """Plain decimal seconds, e.g. ``12.5``; ``decimals`` digits after the point (trailing zeros kept) and, with
    ``integer_digits``, at least that many before it, zero-padded (``integer_digits=4``: ``0012.5``, VTG-LLM's fixed
    width written in ordinary digits; a time with more integer digits is written whole)."""

    decimals: int = 1
    integer_digits: int = 0
    name: ClassVar[str] = "text"
    new_tokens: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        if self.decimals < 0 or self.integer_digits < 0:
            raise ValueError(f"text scheme: decimals and integer_digits must be >= 0, got {self.decimals}, "
                             f"{self.integer_digits}")  # fmt: skip

    def encode(self, seconds: float, *, duration: float | None = None) -> str:
        text = f"{_check_seconds(seconds):.{self.decimals}f}"
        whole, point, fraction = text.partition(".")
        return whole.zfill(self.integer_digits) + point + fraction

    def decode(self, text: str, *, duration: float | None = None) -> float | None:
        m = _DECIMAL.fullmatch(text)
        return float(m.group(1)) if m else None

    def format_span(self, start: float, end: float, *, duration: float | None = None) -> str:
        return f"{self.encode(start)} - {self.encode(end)} seconds"

    def format_point(self, seconds: float, *, duration: float | None = None) -> str:
        return f"{self.encode(seconds)} seconds"

    def init_tokens(self) -> dict[str, list[str]]:
        return {}

    def resolution(self, *, duration: float | None = None) -> float:
        return 0.5 * 10.0**-self.decimals

    def writes(self, text: str) -> bool:
        """Plain numbers: true when ``text`` holds no scheme's time token and names no frames."""
        return _TIME_TOKEN.search(text) is None and _FRAME_WORD.search(text) is None


@dataclass(frozen=True)
class VTGLLMScheme:
    """VTG-LLM's absolute-time tokens: 4 integer digits, a dot and 1 decimal, each a token (12.5 -> ``0012.5``).

    Times of 10000 s or more cannot be written in 4 digits and are clamped to 9999.9, as the format allows nothing
    larger. Decoding accepts any run of digit tokens with at most one dot, so the unpadded form of the VTG-IT
    training answers (``<TIME_ONE><TIME_TWO><TIME_DOT><TIME_FIVE>``) reads back too.
    """

    name: ClassVar[str] = "vtgllm"
    new_tokens: ClassVar[tuple[str, ...]] = (*VTGLLM_DIGIT_TOKENS, VTGLLM_DOT_TOKEN)

    def encode(self, seconds: float, *, duration: float | None = None) -> str:
        digits = f"{min(_check_seconds(seconds), 9999.9):06.1f}"
        return "".join(VTGLLM_DIGIT_TOKENS[int(c)] if c != "." else VTGLLM_DOT_TOKEN for c in digits)

    def decode(self, text: str, *, duration: float | None = None) -> float | None:
        from vidllm.time.parse import tokens_to_digits  # the parser owns the token-run reading

        m = _DECIMAL.fullmatch(tokens_to_digits(text))
        return float(m.group(1)) if m else None

    def format_span(self, start: float, end: float, *, duration: float | None = None) -> str:
        return f"{self.encode(start)} - {self.encode(end)} seconds"

    def format_point(self, seconds: float, *, duration: float | None = None) -> str:
        return f"{self.encode(seconds)} seconds"

    def init_tokens(self) -> dict[str, list[str]]:
        return {**{t: [str(i)] for i, t in enumerate(VTGLLM_DIGIT_TOKENS)}, VTGLLM_DOT_TOKEN: ["."]}

    def resolution(self, *, duration: float | None = None) -> float:
        return 0.05

    def writes(self, text: str) -> bool:
        """True when ``text`` holds one of the time tokens."""
        return any(t in text for t in self.new_tokens)


@dataclass(frozen=True)
class FrameScheme:
    """NumPro frame numbers: frame ``n`` of a sampling at ``fps`` frames per second is the time ``n / fps``.

    The number is the index in the *sampled* sequence starting at 0, the one drawn on the frame by
    :mod:`vidllm.video.numbering`. Any fps works (NumPro's own scripts hard-code 2 frames per second of video
    time, i.e. 0.5 fps).
    """

    fps: float
    name: ClassVar[str] = "frames"
    new_tokens: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        if not (isinstance(self.fps, int | float) and math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"the frames scheme needs the sampling fps (> 0), got fps={self.fps!r}")

    def encode(self, seconds: float, *, duration: float | None = None) -> str:
        return str(round(_check_seconds(seconds) * self.fps))

    def decode(self, text: str, *, duration: float | None = None) -> float | None:
        m = re.fullmatch(r"\s*(?:frame\s*)?(\d+)\s*", text, flags=re.IGNORECASE)
        return int(m.group(1)) / self.fps if m else None

    def format_span(self, start: float, end: float, *, duration: float | None = None) -> str:
        return f"From Frame {self.encode(start)} to Frame {self.encode(end)}"

    def format_point(self, seconds: float, *, duration: float | None = None) -> str:
        return f"Frame {self.encode(seconds)}"

    def init_tokens(self) -> dict[str, list[str]]:
        return {}

    def resolution(self, *, duration: float | None = None) -> float:
        return 0.5 / self.fps

    def writes(self, text: str) -> bool:
        """True when ``text`` names frames (``Frame 12``, ``frames 3 to 9``)."""
        return _FRAME_WORD.search(text) is not None


@dataclass(frozen=True)
class BinScheme:
    """``num_bins`` relative time tokens ``<t0>`` ... ``<tN-1>`` spread over the video (LITA-style).

    Token ``<tk>`` stands for the time ``k * duration / (num_bins - 1)``, so the first and last tokens are the
    video's start and end exactly; a time is written as its nearest token. Needs the video's duration per call.
    New rows are initialised from the embeddings of the digits, averaged.
    """

    num_bins: int = 100
    name: ClassVar[str] = "bins"

    def __post_init__(self):
        if not (isinstance(self.num_bins, int) and self.num_bins >= 2):
            raise ValueError(f"the bins scheme needs num_bins >= 2, got {self.num_bins!r}")

    @property
    def new_tokens(self) -> tuple[str, ...]:
        return tuple(f"<t{k}>" for k in range(self.num_bins))

    def _step(self, duration: float | None) -> float:
        if duration is None or not math.isfinite(duration) or duration <= 0:
            raise ValueError(f"the bins scheme needs the video's duration (> 0 seconds), got duration={duration!r}")
        return duration / (self.num_bins - 1)

    def encode(self, seconds: float, *, duration: float | None = None) -> str:
        k = round(_check_seconds(seconds) / self._step(duration))
        return f"<t{min(max(k, 0), self.num_bins - 1)}>"

    def decode(self, text: str, *, duration: float | None = None) -> float | None:
        m = re.fullmatch(r"\s*<t(\d+)>\s*", text)
        if not m or int(m.group(1)) >= self.num_bins:
            return None
        return int(m.group(1)) * self._step(duration)

    def format_span(self, start: float, end: float, *, duration: float | None = None) -> str:
        return f"{self.encode(start, duration=duration)} - {self.encode(end, duration=duration)}"

    def format_point(self, seconds: float, *, duration: float | None = None) -> str:
        return self.encode(seconds, duration=duration)

    def init_tokens(self) -> dict[str, list[str]]:
        return {t: [str(i) for i in range(10)] for t in self.new_tokens}

    def resolution(self, *, duration: float | None = None) -> float:
        return 0.5 * self._step(duration)

    def writes(self, text: str) -> bool:
        """True when ``text`` holds a bin token of this scheme (``<t0>`` ... ``<tN-1>``)."""
        return any(int(k) < self.num_bins for k in re.findall(r"<t(\d+)>", text))


SCHEMES: dict[str, type] = {"text": TextScheme, "vtgllm": VTGLLMScheme, "frames": FrameScheme, "bins": BinScheme}


def get_scheme(name: str, **kwargs) -> TimeScheme:
    """Build the time scheme called ``name`` (``text``, ``vtgllm``, ``frames``, ``bins``).

    Args:
        name: A key of :data:`SCHEMES`.
        **kwargs: The scheme's parameters: ``decimals`` for ``text``, ``fps`` for ``frames`` (required),
            ``num_bins`` for ``bins``.

    Raises:
        ValueError: For an unknown name (the message lists the valid ones) or a bad parameter.
    """
    if name not in SCHEMES:
        raise ValueError(f"unknown time scheme {name!r}; valid schemes: {', '.join(sorted(SCHEMES))}")
    try:
        return SCHEMES[name](**kwargs)
    except TypeError as e:
        raise ValueError(f"bad parameters for time scheme {name!r}: {e}") from None
