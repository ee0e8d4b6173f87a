"""python bench/parse.py

Parser throughput on growing and adversarial inputs: the time per character should stay flat as the text grows
(the parser is linear). Baseline: the same parser on a 1 KB text of the same kind, in the same run.
"""

from __future__ import annotations

import time

from vidllm.time import parse_captions, parse_intervals

UNIT = {
    "answers": "0012.5 - 0020.0 seconds, chop the onion. From 1:02 to 1:09, fry it. ",
    "digits": "9" * 60 + " ",
    "colons": "1:" * 30 + " ",
    "dashes": "1 - " * 15,
    "frames": "Frame Frame 3 to ",
    "tokens": "<TIME_ONE> <TIME_TWO><TIME_DOT>" * 3 + " - ",
}
SIZES = (1_000, 10_000, 100_000, 1_000_000)


def per_char_us(text: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        parse_intervals(text, fps=1.0, duration=1e6)
        parse_captions(text, fps=1.0)
        best = min(best, time.perf_counter() - t0)
    return best / len(text) * 1e6


def main() -> None:
    print(f"{'input':<8}" + "".join(f"{n:>14,}" for n in SIZES) + "   (us per character; ratio to 1 KB)")
    for name, unit in UNIT.items():
        cells = []
        base = None
        for n in SIZES:
            us = per_char_us((unit * (n // len(unit) + 1))[:n])
            base = base or us
            cells.append(f"{us:6.3f} x{us / base:4.1f}")
        print(f"{name:<8}" + "".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    main()
