"""The lmms-eval model class behind ``--model vidllm`` (imports lmms-eval; see :mod:`vidllm.integrations.lmms_eval`).

Only ``generate_until`` is implemented, which is what lmms-eval's video tasks (Video-MME, MVBench, ``charades_sta``,
...) ask for. Not implemented, each with a ``NotImplementedError`` that says so:

* ``loglikelihood`` (tasks scored by likelihood): vidllm's adapters generate, and compute a training loss over a
  chat-formatted assistant turn (with its end-of-turn token), not the log-probability of a raw continuation that
  lmms-eval's loglikelihood requests mean;
* ``generate_until_multi_round`` (multi-turn tasks): each turn would need the conversation so far and the video;
  vidllm's evaluation is single-turn.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from lmms_eval.api.instance import Instance
from lmms_eval.api.model import lmms

from vidllm.integrations.lmms_eval.backend import Backend, ModelArgs, Request


class VidLLM(lmms):
    """A time-aware vidllm checkpoint as an lmms-eval "simple" model.

    Args:
        **kwargs: ``--model_args`` (see :class:`~vidllm.integrations.lmms_eval.backend.ModelArgs`) and the
            ``batch_size`` / ``device`` / ``max_batch_size`` lmms-eval adds.
    """

    is_simple = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.backend = Backend(ModelArgs.from_kwargs(kwargs))
        self._rank = self.backend.dist.rank
        self._world_size = self.backend.dist.world_size

    @property
    def batch_size(self) -> int:
        return self.backend.args.batch_size

    @property
    def device(self) -> Any:
        return self.backend.device

    def generate_until(self, requests: list[Instance]) -> list[str]:
        """Answer each request (``args = (context, gen_kwargs, doc_to_visual, doc_id, task, split)``)."""
        items = []
        for req in requests:
            context, gen_kwargs, doc_to_visual, doc_id, task, split = req.args
            doc = self.task_dict[task][split][doc_id]
            items.append(Request(context, gen_kwargs, partial(doc_to_visual, doc)))
        answers = self.backend.generate(items, progress=self.rank == 0)
        for item, answer in zip(items, answers, strict=True):
            self.cache_hook.add_partial("generate_until", (item.context, item.gen_kwargs), answer)
        return answers

    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        raise NotImplementedError(
            "--model vidllm does not compute log-likelihoods (loglikelihood / multiple_choice output types): vidllm's "
            "adapters generate and score chat-formatted answers, not raw continuations; use a generate_until task"
        )

    def generate_until_multi_round(self, requests: list[Instance]) -> list[str]:
        raise NotImplementedError(
            "--model vidllm answers single-turn requests only (generate_until); multi-round tasks need the "
            "conversation so far with the video, which vidllm's evaluation does not build"
        )
