"""What ``lmms-eval --model vidllm`` does with vidllm; this module never imports lmms-eval.

An lmms-eval "simple" model receives requests of ``(context, generation kwargs, visuals)``; :class:`Backend` answers
them the way ``vidllm eval`` answers its own queries:

* **Loading** (:func:`load`): ``pretrained`` (base checkpoint folder) and ``lora`` (a folder written by the training
  recipe) go through :func:`vidllm.eval.model_source.load_model`, the loader of the evaluation runner, which rebuilds
  the time components the adapter was trained with. It is the only call of a loader here.
* **Sampling**: frames are read as the checkpoint was trained. Values given in ``--model_args`` (``fps``,
  ``num_frames``, ``max_frames``, ``min_pixels``, ``max_pixels``) win; the unset ones come from the training config
  saved beside the checkpoint (:func:`~vidllm.eval.model_source.training_sampling`, looked for in the adapter
  folder, its parent, then the base folder, as the runner does), else from vidllm's evaluation defaults (1 fps, at
  most 96 frames); :func:`~vidllm.eval.model_source.frame_read_kwargs` adds the processor's size multiple and the
  model's pixel budget. Videos are decoded by :class:`vidllm.eval.video_loader.VideoLoader` (threads, one batch
  ahead).
* **Inputs**: the task's context is the user turn after the video (``Record`` -> ``to_messages`` ->
  ``adapter.build_inputs``), so the adapter applies the model's time components (per-frame time text, time
  embedding, NumPro numbers) exactly as in training and in ``vidllm eval``. ``<image>`` / ``<video>`` placeholders in
  the context are removed (the video is placed by the chat template). A request without visuals is text only.
* **Answers**: a model whose time scheme does not write seconds (``vtgllm`` tokens, ``bins``, ``frames``) has every
  interval of its answer rewritten in plain seconds (:func:`intervals_in_seconds`, e.g. ``From Frame 3 to Frame 9``
  at 0.5 fps -> ``From 6.00 - 18.00 seconds``), so that a task's own parser (which reads seconds) scores what the model
  meant. ``answer_seconds=false`` keeps the raw text; ``true`` rewrites text-scheme answers too.
* **Generation kwargs** of the task: ``max_new_tokens`` (else the ``max_new_tokens`` model arg, 256), ``temperature``
  (> 0 samples, as lmms-eval's own Qwen models read it; without a temperature, ``do_sample``), ``top_p``,
  ``num_beams``, ``repetition_penalty``; ``until`` strings cut the decoded answer after generation. Other keys are
  ignored (logged once).
* **Failures** never stop a run unless ``on_error=raise``: a missing or undecodable video, or an error while building
  inputs or generating, gives the answer ``""`` (the task scores it as a miss), a warning, and a count in
  :attr:`Backend.counts` (logged after each call). Visuals vidllm cannot read as one video (images, several videos)
  raise at once: that is a task vidllm does not support, not bad data.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tqdm import tqdm

from vidllm.data import Record, to_messages
from vidllm.eval.config import SamplingConfig
from vidllm.eval.distributed import DistInfo, rank_device
from vidllm.eval.model_source import (
    ResolvedSampling,
    frame_read_kwargs,
    load_model,
    resolve_paths,
    resolve_sampling,
    training_sampling,
)
from vidllm.eval.video_loader import VideoLoader
from vidllm.models.config import ModelConfig, TimeConfig
from vidllm.time import TextScheme, find_intervals
from vidllm.video import VideoDecodeError, VideoFrames

logger = logging.getLogger(__name__)

SECONDS = TextScheme(decimals=2)
"""How rewritten intervals are written: 10 ms steps, finer than any sampling of a video LLM."""

ON_ERROR = ("empty", "raise")
_PLACEHOLDER = re.compile(r"<(?:image|video)>\s*")
_GENERATION_KEYS = {"max_new_tokens", "temperature", "do_sample", "top_p", "num_beams", "repetition_penalty", "until"}
_IGNORED_ARGS = {"max_batch_size"}  # lmms-eval passes it to every model; vidllm has no automatic batch size
_NUMERIC_ARGS = {
    "fps": float,
    **dict.fromkeys(
        ("num_frames", "max_frames", "min_pixels", "max_pixels", "batch_size", "max_new_tokens", "num_workers"), int
    ),
}  # the CLI passes --batch_size as text


@dataclass
class ModelArgs:
    """``--model_args`` of ``--model vidllm`` (``key=value,key=value``; lmms-eval turns numbers and booleans).

    Attributes:
        pretrained: Base checkpoint folder (local). May be omitted with a fully fine-tuned ``lora`` folder.
        lora: A folder written by the training recipe (LoRA or full), loaded over ``pretrained``.
        family: Adapter family; ``None`` detects it (``vidllm.json``, then ``config.json``).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``npu``... (``auto`` takes the local rank's GPU under
            ``accelerate launch`` / torchrun).
        dtype: ``auto``, ``bfloat16``, ``float16``, ``float32``.
        attn_implementation: ``auto``, ``flash_attention_2``, ``sdpa``, ``eager``.
        fps: Frames per second (``None``: as trained). Exclusive with ``num_frames``.
        num_frames: Frames per video (``None``: as trained).
        max_frames: Cap on frames per video (``None``: as trained).
        min_pixels: Smallest decoded frame area (``None``: as trained / the model's budget).
        max_pixels: Largest decoded frame area (``None``: as trained / the model's budget).
        video_backend: Decoder (``auto``, ``torchcodec``, ``pyav``, ``decord``).
        batch_size: Requests per ``generate`` call (left-padded).
        max_new_tokens: Answer length when the task does not set one.
        system_prompt: A system turn before each question (``None``: the chat template's default).
        answer_seconds: Rewrite answer intervals in seconds (``None``: when the time scheme does not write seconds).
        num_workers: Video decoding threads (0: decode in the calling thread).
        on_error: ``empty`` (a failed request answers ``""`` and is counted) or ``raise``.
    """

    pretrained: str = ""
    lora: str | None = None
    family: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    attn_implementation: str = "auto"
    fps: float | None = None
    num_frames: int | None = None
    max_frames: int | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    video_backend: str = "auto"
    batch_size: int = 1
    max_new_tokens: int = 256
    system_prompt: str | None = None
    answer_seconds: bool | None = None
    num_workers: int = 2
    on_error: str = "empty"

    def __post_init__(self):
        if not self.pretrained and not self.lora:
            raise ValueError(
                "--model vidllm needs --model_args pretrained=<base checkpoint folder>[,lora=<adapter folder>]"
            )
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1 (vidllm has no 'auto'), got {self.batch_size!r}")
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be an integer >= 1, got {self.max_new_tokens!r}")
        if self.on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}, got {self.on_error!r}")
        if self.answer_seconds is not None and not isinstance(self.answer_seconds, bool):
            raise ValueError(f"answer_seconds must be true or false, got {self.answer_seconds!r}")
        self.pretrained, self.lora = str(self.pretrained), (str(self.lora) if self.lora else None)

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> ModelArgs:
        """From the keyword arguments lmms-eval passes (``None`` values mean "not given").

        Raises:
            ValueError: An unknown argument (the message lists the valid ones) or an invalid value.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - names - _IGNORED_ARGS)
        if unknown:
            raise ValueError(f"unknown --model_args {', '.join(unknown)} for --model vidllm; "
                             f"valid: {', '.join(sorted(names))}")  # fmt: skip
        values = {k: v for k, v in kwargs.items() if k in names and v is not None}
        for name, kind in _NUMERIC_ARGS.items():
            if isinstance(values.get(name), str):
                with contextlib.suppress(ValueError):  # else __post_init__ says what was expected
                    values[name] = kind(values[name])
        return cls(**values)

    def model_config(self, dist: DistInfo) -> ModelConfig:
        """The base model's :class:`ModelConfig` (a saved adapter brings its own time components)."""
        config = ModelConfig(path=self.pretrained, device=rank_device(self.device, dist), dtype=self.dtype,
                             attn_implementation=self.attn_implementation)  # fmt: skip
        if self.family:
            config.family = self.family
        return config

    def sampling_config(self) -> SamplingConfig:
        """The sampling asked for; unset fields are filled from the checkpoint by :func:`load`."""
        return SamplingConfig(
            fps=self.fps,
            num_frames=self.num_frames,
            max_frames=self.max_frames,
            min_pixels=self.min_pixels,
            max_pixels=self.max_pixels,
            backend=self.video_backend,
        )


def load(args: ModelArgs, dist: DistInfo) -> tuple[Any, ResolvedSampling]:
    """Load the model as ``vidllm eval`` does, and resolve its sampling (see the module docstring).

    Returns:
        ``(adapter, sampling)``.
    """
    model = args.model_config(dist)
    base, lora, _ = resolve_paths(model, args.lora)
    trained = training_sampling(lora, str(Path(lora).resolve().parent) if lora else None, base or None)
    sampling = resolve_sampling(args.sampling_config(), trained)
    adapter = load_model(model, args.lora).adapter
    logger.info("vidllm: %s loaded; sampling %s", args.lora or base, sampling.to_dict())
    return adapter, sampling


def intervals_in_seconds(text: str, time: TimeConfig, *, fps: float | None, duration: float | None) -> str:
    """``text`` with every interval it writes (in any scheme :mod:`vidllm.time` reads) written in plain seconds.

    Time tokens outside intervals become plain numbers too (``tokens_to_digits``); other text is unchanged. An
    interval that cannot be read (a frame number without ``fps``) is left as it was.

    Args:
        text: A decoded answer.
        time: The model's time components (the ``bins`` scheme reads ``<tk>`` with ``duration`` and ``num_bins``).
        fps: The sampling rate of the video the model saw ("Frame n" is ``n / fps`` seconds).
        duration: The video's length in seconds.
    """
    bins = {"duration": duration, "num_bins": time.make_scheme().num_bins} if time.scheme == "bins" else {}
    normalised, found = find_intervals(text, fps=fps, **bins)
    parts, last = [], 0
    for m in found:
        if math.isnan(m.start):
            continue
        parts += [normalised[last : m.begin], SECONDS.format_span(m.start, m.end)]
        last = m.stop
    return "".join(parts) + normalised[last:]


def generation_kwargs(task_kwargs: Mapping[str, Any], default_max_new_tokens: int) -> tuple[dict[str, Any], list[str]]:
    """lmms-eval generation kwargs -> ``(adapter.generate kwargs, until strings)`` (see the module docstring)."""
    temperature = task_kwargs.get("temperature")
    sample = float(temperature) > 0 if temperature is not None else bool(task_kwargs.get("do_sample", False))
    out: dict[str, Any] = {
        "max_new_tokens": int(task_kwargs.get("max_new_tokens") or default_max_new_tokens),
        "do_sample": sample,
        "num_beams": int(task_kwargs.get("num_beams") or 1),
    }
    if sample:
        out["temperature"] = float(temperature) if temperature else 1.0
        out["top_p"] = float(task_kwargs.get("top_p") or 1.0)
    if task_kwargs.get("repetition_penalty") is not None:
        out["repetition_penalty"] = float(task_kwargs["repetition_penalty"])
    until = task_kwargs.get("until") or []
    if isinstance(until, str):
        until = [until]
    if not isinstance(until, list | tuple) or not all(isinstance(u, str) for u in until):
        raise ValueError(f"generation_kwargs.until must be a string or a list of strings, got {until!r}")
    return out, [u for u in until if u]


def cut_at(text: str, until: Sequence[str]) -> str:
    """``text`` up to the first of the stop strings (empty ones are ignored)."""
    for stop in until:
        if stop:
            text = text.split(stop, 1)[0]
    return text


@dataclass
class Request:
    """One lmms-eval ``generate_until`` request.

    Attributes:
        context: The task's prompt.
        gen_kwargs: The task's generation kwargs.
        visuals: Returns the request's visuals (``doc_to_visual(doc)``): a list holding one video path (a file or
            a folder of frames), or empty / ``None`` for a text-only request.
    """

    context: str
    gen_kwargs: Mapping[str, Any] = field(default_factory=dict)
    visuals: Callable[[], Any] = lambda: None


def video_of(visuals: Any) -> str | None:
    """The one video path of a request's visuals, ``None`` for none.

    Raises:
        NotImplementedError: Visuals that are not one video path (images, several videos, audio...).
    """
    if visuals is None or (isinstance(visuals, list | tuple) and len(visuals) == 0):
        return None
    items = list(visuals) if isinstance(visuals, list | tuple) else [visuals]
    if len(items) == 1 and isinstance(items[0], str | Path):
        return str(items[0])
    kinds = ", ".join(sorted({type(v).__name__ for v in items}))
    raise NotImplementedError(
        f"--model vidllm reads one video per request (a file or frame-folder path); this task gives {len(items)} "
        f"visual(s) of type {kinds}. Image and multi-video tasks are not supported"
    )


@dataclass
class _Prepared:
    index: int
    inputs: dict
    video: VideoFrames | None


class Backend:
    """A loaded vidllm model answering lmms-eval requests (see the module docstring).

    Args:
        args: The model arguments.
        dist: This process's place in a multi-process run (default: from the environment).

    Attributes:
        adapter: The loaded model adapter.
        sampling: The resolved sampling and where each value came from.
        read_kwargs: Arguments of :func:`vidllm.video.read_frames` for every video.
        rewrite_answers: Whether answers are rewritten in seconds.
        counts: Requests per outcome over the backend's life (``ok``, ``missing_video``, ``corrupt_video``,
            ``error``).
    """

    def __init__(self, args: ModelArgs, *, dist: DistInfo | None = None):
        self.args = args
        self.dist = dist or DistInfo.from_env()
        self.adapter, self.sampling = load(args, self.dist)
        self.read_kwargs = frame_read_kwargs(self.sampling, self.adapter)
        time = self.adapter.config.time
        self.rewrite_answers = args.answer_seconds if args.answer_seconds is not None else time.scheme != "text"
        self.counts: Counter[str] = Counter()
        self._ignored_keys: set[str] = set()

    @property
    def device(self) -> Any:
        """The model's ``torch.device``."""
        return next(self.adapter.model.parameters()).device

    def generate(self, requests: Sequence[Request], *, progress: bool = True) -> list[str]:
        """One answer per request, in request order (batches group requests with equal generation kwargs)."""
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(json.dumps(r.gen_kwargs, sort_keys=True, default=str), []).append(i)
        batches = [ids[k : k + self.args.batch_size] for ids in groups.values()
                   for k in range(0, len(ids), self.args.batch_size)]  # fmt: skip
        answers = [""] * len(requests)
        before = Counter(self.counts)
        paths = {}
        capacity = 2 * self.args.batch_size + 2
        with VideoLoader(".", self.read_kwargs, workers=self.args.num_workers, capacity=capacity) as loader, \
                tqdm(total=len(requests), desc="vidllm", unit="request", disable=not progress) as bar:  # fmt: skip
            for n, batch in enumerate(batches):
                for ahead in batches[n : n + 2]:  # this batch and the next: decoded while the model generates
                    for i in ahead:
                        if i not in paths:
                            paths[i] = video_of(requests[i].visuals())
                    loader.prefetch(paths[i] for i in ahead if paths[i] is not None)
                for i, text in self._run_batch(requests, batch, paths, loader).items():
                    answers[i] = text
                bar.update(len(batch))
        new = self.counts - before
        failed = sum(v for k, v in new.items() if k != "ok")
        if failed:
            logger.warning("vidllm: %d of %d requests got no answer (%s); they answer '' and score as misses",
                           failed, len(requests), ", ".join(f"{k}: {v}" for k, v in sorted(new.items())))  # fmt: skip
        return answers

    def _fail(self, index: int, status: str, error: BaseException) -> None:
        if self.args.on_error == "raise":
            raise error
        self.counts[status] += 1
        logger.warning("vidllm: request %d (%s): %s: %s", index, status, type(error).__name__, error)

    def _run_batch(
        self, requests: Sequence[Request], batch: Sequence[int], paths: Mapping[int, str | None], loader: VideoLoader
    ) -> dict[int, str]:
        prepared: list[_Prepared] = []
        for i in batch:
            try:
                video = loader.get(paths[i]) if paths[i] is not None else None
            except FileNotFoundError as e:
                self._fail(i, "missing_video", e)
                continue
            except VideoDecodeError as e:
                self._fail(i, "corrupt_video", e)
                continue
            try:
                prepared.append(_Prepared(i, self._inputs(requests[i].context, paths[i], video), video))
            except Exception as e:
                self._fail(i, "error", e)
        if not prepared:
            return {}
        kwargs, until = generation_kwargs(requests[batch[0]].gen_kwargs, self.args.max_new_tokens)
        self._note_ignored(requests[batch[0]].gen_kwargs)
        try:
            texts = self.adapter.generate(self.adapter.collate([p.inputs for p in prepared], padding_side="left"),
                                          **kwargs)  # fmt: skip
        except Exception as e:
            for p in prepared:
                self._fail(p.index, "error", e)
            return {}
        self.counts["ok"] += len(prepared)
        return {p.index: self._answer(text, until, p.video) for p, text in zip(prepared, texts, strict=True)}

    def _inputs(self, context: str, path: str | None, video: VideoFrames | None) -> dict:
        prompt = _PLACEHOLDER.sub("", context).strip()
        if video is None:
            system = [{"role": "system", "content": [{"type": "text", "text": self.args.system_prompt}]}]
            messages = [*(system if self.args.system_prompt else []),
                        {"role": "user", "content": [{"type": "text", "text": prompt}]}]  # fmt: skip
            return self.adapter.build_inputs(messages, [], add_generation_prompt=True)
        scheme = self.adapter.config.time.make_scheme(fps=video.sample_fps)
        record = Record(video=path, task="qa", prompt=prompt, system=self.args.system_prompt)
        messages = to_messages(record, scheme, with_answer=False)
        return self.adapter.build_inputs(messages, [video], add_generation_prompt=True, durations=[video.duration])

    def _answer(self, text: str, until: Sequence[str], video: VideoFrames | None) -> str:
        text = cut_at(text, until)
        if self.rewrite_answers and video is not None:
            text = intervals_in_seconds(text, self.adapter.config.time, fps=float(video.sample_fps),
                                        duration=float(video.duration))  # fmt: skip
        return text

    def _note_ignored(self, gen_kwargs: Mapping[str, Any]) -> None:
        new = set(gen_kwargs) - _GENERATION_KEYS - self._ignored_keys
        if new:
            self._ignored_keys |= new
            logger.info("vidllm: generation_kwargs %s are not used by vidllm models", ", ".join(sorted(new)))
