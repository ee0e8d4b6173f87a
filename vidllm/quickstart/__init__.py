"""``vidllm quickstart``: a synthetic grounding benchmark, a from-scratch time-aware Qwen2-VL trained on the CPU,
its evaluation and the baselines it must beat (see :mod:`vidllm.quickstart.run`).

>>> from vidllm.quickstart import QuickstartConfig, run
>>> summary = run(QuickstartConfig(output_dir="qs"))          # doctest: +SKIP
>>> summary.row("frame_text").metrics["R1@0.5"]               # doctest: +SKIP
"""

from vidllm.quickstart.config import QuickstartConfig, load_quickstart_config
from vidllm.quickstart.run import Summary, run
from vidllm.quickstart.variants import VARIANTS

__all__ = ["VARIANTS", "QuickstartConfig", "Summary", "load_quickstart_config", "run"]
