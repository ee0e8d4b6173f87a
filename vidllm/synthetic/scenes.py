"""Synthetic scenes: coloured shapes that appear, move and pulse at known times.

A :class:`Scene` is pure data (every time in seconds); :mod:`vidllm.synthetic.render` draws it and
:mod:`vidllm.synthetic.tasks` asks questions about it. Scenes are sampled from a :class:`SceneSpec` with a
``numpy.random.Generator``, so a seed fixes everything.

Event kinds:

* ``visible``: a shape is on screen during ``[start, end)`` and nowhere else ("when is the red circle visible?").
* ``move``: a shape is on screen the whole video and slides left or right during ``[start, end)``
  ("when does the blue square move left?").
* ``pulse``: a shape is on screen during ``[start, end)`` with a brightness that changes per 2-s clip; the levels
  are the saliency a highlight answer must give ("what are the highlights of the green triangle?").

Every shape and colour pair belongs to one kind of event, so a query names exactly one of them; the others are
distractors. A ``visible`` pair may occur several times (``SceneSpec.moments``): its query then has as many moments,
each its own :class:`Event` with the same shape, colour and row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SHAPES = ("circle", "square", "triangle")
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 90, 240),
    "yellow": (240, 220, 40),
}
EVENT_KINDS = ("visible", "move", "pulse")


@dataclass(frozen=True)
class Event:
    """One thing that happens to one shape.

    Attributes:
        kind: One of :data:`EVENT_KINDS`.
        shape: One of :data:`SHAPES`.
        color: A key of :data:`COLORS`.
        start: Seconds.
        end: Seconds (exclusive).
        x: Horizontal centre as a fraction of the width (for ``move``: where the slide starts; it covers half
            the width).
        y: Vertical centre as a fraction of the height.
        direction: ``"left"`` or ``"right"`` for ``move`` events.
        levels: Brightness level (1-4) of each saliency clip the event overlaps, for ``pulse``; clip ``i`` of the
            video covers ``[i * clip_length, (i + 1) * clip_length)``, as the benchmarks' saliency grid does.
    """

    kind: str
    shape: str
    color: str
    start: float
    end: float
    x: float
    y: float
    direction: str = ""
    levels: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        """``"the red circle"``."""
        return f"the {self.color} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """A synthetic video: its length, sampling and events (times in seconds)."""

    duration: float
    events: tuple[Event, ...]
    clip_length: float = 2.0


@dataclass(frozen=True)
class SceneSpec:
    """How scenes are drawn at random. Every range is inclusive ``(low, high)``.

    Attributes:
        duration: Video length range in seconds.
        num_events: How many events a scene has.
        kinds: Which event kinds may occur.
        event_length: Length range of one event in seconds.
        grid: Event boundaries fall on multiples of this (seconds); 0 for continuous times. A grid matching the
            sampling step keeps the task learnable from sampled frames.
        clip_length: Saliency clip length in seconds (QVHighlights: 2).
        moments: How many disjoint times a ``visible`` shape appears (its query has that many moments).
    """

    duration: tuple[float, float] = (16.0, 16.0)
    num_events: tuple[int, int] = (1, 3)
    kinds: tuple[str, ...] = EVENT_KINDS
    event_length: tuple[float, float] = (2.0, 8.0)
    grid: float = 1.0
    clip_length: float = 2.0
    shapes: tuple[str, ...] = field(default=SHAPES)
    colors: tuple[str, ...] = field(default=tuple(COLORS))
    moments: tuple[int, int] = (1, 1)

    def __post_init__(self):
        if not 1 <= self.moments[0] <= self.moments[1]:
            raise ValueError(f"moments must be (low, high) with 1 <= low <= high, got {self.moments}")
        bad = [k for k in self.kinds if k not in EVENT_KINDS]
        if bad or not self.kinds:
            raise ValueError(f"unknown event kinds {bad}; valid kinds: {', '.join(EVENT_KINDS)}")
        if len(self.shapes) * len(self.colors) < self.num_events[1]:
            raise ValueError(
                f"{self.num_events[1]} events need as many distinct shape/colour pairs; "
                f"{len(self.shapes)} shapes x {len(self.colors)} colours give {len(self.shapes) * len(self.colors)}"
            )
        if not 0 < self.event_length[0] <= self.event_length[1] <= self.duration[0]:
            raise ValueError(
                f"event_length {self.event_length} must be positive, ordered and fit in the shortest video "
                f"({self.duration[0]} s)"
            )


def _snap(t: float, grid: float) -> float:
    return round(t / grid) * grid if grid > 0 else t


def sample_scene(spec: SceneSpec, rng: np.random.Generator) -> Scene:
    """Draw one scene from ``spec``."""
    duration = _snap(float(rng.uniform(*spec.duration)), spec.grid) or spec.duration[1]
    count = int(rng.integers(spec.num_events[0], spec.num_events[1] + 1))
    pairs = [(s, c) for s in spec.shapes for c in spec.colors]
    chosen = rng.choice(len(pairs), size=count, replace=False)
    events = []
    for k, i in enumerate(chosen):
        shape, color = pairs[i]
        kind = str(rng.choice(spec.kinds))
        spans = _spans(spec, duration, [], rng)
        # Rows keep shapes apart vertically so that they never hide each other.
        y = (k + 0.5) / count
        x = float(rng.uniform(0.25, 0.75))
        direction = ""
        if kind == "move":  # slides half the width, from a quarter in from one side
            direction = str(rng.choice(["left", "right"]))
            x = 0.25 if direction == "right" else 0.75
        if kind == "visible" and spec.moments[1] > 1:  # draws nothing more for single moments: same scenes as before
            repeats = int(rng.integers(spec.moments[0], spec.moments[1] + 1))
            for _ in range(20 * repeats):
                if len(spans) >= repeats:
                    break
                spans = _spans(spec, duration, spans, rng)
        for start, end in spans:
            levels = ()
            if kind == "pulse":
                clips = len(clips_of(start, end, spec.clip_length))
                levels = tuple(int(v) for v in rng.integers(1, 5, size=clips))
            events.append(Event(kind, shape, color, float(start), float(end), x, y, direction, levels))
    events.sort(key=lambda e: (e.start, e.end))
    return Scene(float(duration), tuple(events), spec.clip_length)


def _spans(
    spec: SceneSpec, duration: float, spans: list[tuple[float, float]], rng: np.random.Generator
) -> list[tuple[float, float]]:
    """``spans`` plus one drawn ``(start, end)`` if it keeps a gap of a grid step from each of them; sorted."""
    length = min(_snap(float(rng.uniform(*spec.event_length)), spec.grid) or spec.grid, duration)
    start = _snap(float(rng.uniform(0.0, duration - length)), spec.grid)
    end = min(start + length, duration)
    gap = spec.grid or 1e-6
    if all(end + gap <= s or start >= e + gap for s, e in spans):
        spans = [*spans, (start, end)]
    return sorted(spans)


def clips_of(start: float, end: float, clip_length: float) -> range:
    """Indices of the saliency clips that ``[start, end)`` overlaps."""
    return range(math.floor(start / clip_length), math.ceil(end / clip_length - 1e-9))


def level_at(event: Event, t: float, clip_length: float) -> int:
    """The brightness level of a ``pulse`` event at time ``t`` (0 outside it)."""
    if not event.start <= t < event.end or not event.levels:
        return 0
    k = math.floor(t / clip_length) - math.floor(event.start / clip_length)
    return event.levels[min(max(k, 0), len(event.levels) - 1)]


def position_at(event: Event, t: float, duration: float) -> float:
    """Horizontal centre (fraction of the width) of the event's shape at time ``t``."""
    if event.kind != "move":
        return event.x
    travel = 0.5 if event.direction == "right" else -0.5
    if t < event.start:
        return event.x
    progress = min((t - event.start) / max(event.end - event.start, 1e-9), 1.0)
    return event.x + travel * progress


def is_visible(event: Event, t: float) -> bool:
    """Whether the event's shape is on screen at time ``t``."""
    return event.kind == "move" or event.start <= t < event.end
