"""Typed configuration of an evaluation run: which benchmark, which model, how to sample, prompt and generate.

YAML files in ``eval_configs/`` set fields of :class:`EvalConfig` (first line: the command that runs them); the
scripts ``eval/{mr,hd,dvc,vs}.py`` map their flags onto the same fields, and ``key=value`` overrides any of them::

    python eval/mr.py --config eval_configs/charades_sta.yaml --model_path /models/Qwen2.5-VL-7B-Instruct \\
        --lora_path runs/charades/lora sampling.fps=2

Settings that change what the model sees or says (model, adapter, sampling, prompt, generation) are fixed for the
life of an output folder: :mod:`vidllm.eval.runner` refuses to resume a folder written with different ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vidllm.eval.tasks import QUESTIONS, SCORE_MODES, TASKS
from vidllm.models.config import ModelConfig

BENCHMARK_NAMES = tuple(TASKS)
"""The benchmarks of the task registry (:data:`vidllm.eval.tasks.TASKS`)."""

EVAL_TASKS = tuple(QUESTIONS)
"""``mr`` moment retrieval, ``vhd`` highlight detection, ``dvc`` dense captioning, ``vs`` video summarization,
``tad`` temporal action detection (class-name queries)."""

DEFAULT_FPS = 1.0
DEFAULT_MAX_FRAMES = 96


@dataclass
class SamplingConfig:
    """How frames are sampled from each video (:func:`vidllm.video.read_frames`).

    ``None`` means: take the value the model was trained with, from the training config saved beside the checkpoint
    (see :func:`vidllm.eval.model_source.training_sampling`), else the default (1 fps, at most 96 frames, native
    size). A value set here wins over the checkpoint's and is logged as a warning when it differs from it.

    Attributes:
        fps: Frames per second. Exclusive with ``num_frames``.
        num_frames: Frames per video, spread evenly. Exclusive with ``fps``.
        max_frames: Most frames per video (spread over the whole video, never cut off).
        min_pixels: Smallest decoded frame area.
        max_pixels: Largest decoded frame area (frames are scaled inside the decoder).
        from_checkpoint: Read unset values from the checkpoint's training config.
        backend: Video decoder (``auto``, ``torchcodec``, ``pyav``, ``decord``).
    """

    fps: float | None = field(default=None, metadata={"help": "frames per second (None: as trained)"})
    num_frames: int | None = field(default=None, metadata={"help": "frames per video (None: as trained)"})
    max_frames: int | None = field(default=None, metadata={"help": "cap on frames per video (None: as trained)"})
    min_pixels: int | None = field(default=None, metadata={"help": "smallest decoded frame area"})
    max_pixels: int | None = field(default=None, metadata={"help": "largest decoded frame area"})
    from_checkpoint: bool = field(default=True, metadata={"help": "read unset values from the training config"})
    backend: str = field(default="auto", metadata={"choices": ["auto", "torchcodec", "pyav", "decord"]})

    def __post_init__(self):
        if self.fps is not None and self.num_frames is not None:
            raise ValueError(
                f"sampling.fps={self.fps} and sampling.num_frames={self.num_frames} are exclusive; set one of them"
            )
        if self.fps is not None and not self.fps > 0:
            raise ValueError(f"sampling.fps must be > 0, got {self.fps}")
        for name in ("num_frames", "max_frames", "min_pixels", "max_pixels"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"sampling.{name} must be >= 1, got {value}")


@dataclass
class GenerationConfig:
    """Decoding. Greedy by default: the published TimeChat / VTG-LLM scripts sample with temperature 1, which is why
    their numbers do not reproduce run to run.

    Attributes:
        max_new_tokens: Longest answer in tokens.
        do_sample: Sample instead of greedy decoding (then ``temperature``, ``top_p`` and ``seed`` apply; the seed of
            each batch is ``seed + batch index``, so resumed and sharded runs draw the same samples).
        temperature: Sampling temperature.
        top_p: Nucleus sampling mass.
        num_beams: Beam search width (1: none).
        repetition_penalty: HF repetition penalty (1: none).
        seed: Base seed of sampling.
    """

    max_new_tokens: int = field(default=256, metadata={"help": "longest answer in tokens"})
    do_sample: bool = field(default=False, metadata={"help": "sample instead of greedy decoding"})
    temperature: float = 1.0
    top_p: float = 1.0
    num_beams: int = 1
    repetition_penalty: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if self.max_new_tokens < 1:
            raise ValueError(f"generation.max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.num_beams < 1:
            raise ValueError(f"generation.num_beams must be >= 1, got {self.num_beams}")
        if self.do_sample and not self.temperature > 0:
            raise ValueError(f"generation.temperature must be > 0 when sampling, got {self.temperature}")

    def kwargs(self) -> dict:
        """Keyword arguments of ``adapter.generate`` (sampling knobs only when sampling)."""
        out = {
            "max_new_tokens": self.max_new_tokens,
            "do_sample": self.do_sample,
            "num_beams": self.num_beams,
            "repetition_penalty": self.repetition_penalty,
        }
        if self.do_sample:
            out.update(temperature=self.temperature, top_p=self.top_p)
        return out


@dataclass
class EvalConfig:
    """One evaluation run.

    Attributes:
        dataset: The benchmark (:data:`BENCHMARK_NAMES`); it decides how the ground truth is read and scored.
        tasks: What to ask about each query: ``mr``, ``vhd``, ``dvc`` or ``vs`` (set by the script; QVHighlights
            takes ``[mr, vhd]`` for a full moment_detr submission).
        gt_path: The ground-truth file, in the form ``vidllm score`` reads (``vidllm convert`` writes them).
        video_root: Folder the videos are in.
        video_template: A video's path under ``video_root``; ``{vid}`` is the benchmark's video id (the GT
            ``image_id`` without extension, or the ``vid`` field). A missing file is also looked for with the other
            usual video extensions (ActivityNet mixes ``.mp4``, ``.mkv`` and ``.webm``).
        model: The base model: family, local folder, runtime and -- for a base checkpoint -- the time components.
            A folder written by ``adapter.save`` brings its own components.
        lora_path: A folder written by the training recipe / ``adapter.save`` (LoRA adapter plus vidllm's modules);
            loaded over ``model.path``.
        sampling: Frame sampling (``None`` values: as the model was trained).
        generation: Decoding (greedy by default).
        prompt_set: Named evaluation prompts (``annotation/eval_prompts.json``): ``timechat``,
            ``timechat_finetuned``, ``vtgllm``, ``numpro``, ``numpro_ft``.
        prompt: A custom question template (``<query_placeholder>``, ``<dataset_placeholder>``); overrides
            ``prompt_set``.
        dataset_name: The name put in ``<dataset_placeholder>`` (default: the benchmark's).
        output_dir: Where samples, predictions, results and plots go (default:
            ``eval_outputs/<dataset>-<tasks>/<model or adapter folder name>``).
        batch_size: Prompts per ``generate`` call (left-padded).
        limit: Evaluate only the first N ground-truth queries (videos for dense captioning).
        num_workers: Threads decoding the next batch's videos while the model generates (0: decode in line).
        video_cache: Decoded videos kept for reuse (Charades asks ~4 questions per video).
        retry_failed: On a rerun, try again the samples whose video was missing or corrupt.
        overwrite: Delete earlier samples in ``output_dir`` instead of resuming from them.
        plots: Write PNG plots (timelines, IoU histogram, saliency curves) to ``output_dir/plots``.
        plot_samples: How many queries the timeline and saliency plots show.
        java: Compute the Java-based dense-captioning metrics (METEOR, PTB-tokenized CIDEr, SODA_c).
        dist_timeout_minutes: How long ranks wait for each other at the end of a sharded run.
        scores: How detections (TAD) and QVHighlights windows are ranked: ``model``, the model's own token
            probabilities for each interval (:mod:`vidllm.eval.confidence`; rank scores where a sample has none),
            or ``rank``, the answer's written confidences or text order ``1, 1/2, ...`` (published numbers). Chosen
            at scoring time: samples keep both, so changing it resumes the same folder and only rescores.
        tad_queries: Action detection: ask every class of every video (``all``, the detection protocol: answers
            for absent classes are false positives) or only the classes present in it (``present``: far fewer
            queries, but an oracle on which classes occur, so not comparable with published mAP).
    """

    dataset: str = field(default="", metadata={"help": "benchmark", "choices": ["", *BENCHMARK_NAMES]})
    tasks: list[str] = field(default_factory=list, metadata={"help": "mr, vhd, dvc, vs"})
    gt_path: str = field(default="", metadata={"help": "ground-truth file"})
    video_root: str = field(default="", metadata={"help": "folder of the videos"})
    video_template: str = field(default="{vid}.mp4", metadata={"help": "video path under video_root"})
    model: ModelConfig = field(default_factory=ModelConfig)
    lora_path: str | None = field(default=None, metadata={"help": "adapter folder from training"})
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    prompt_set: str = field(default="timechat", metadata={"help": "evaluation prompt set"})
    prompt: str | None = field(default=None, metadata={"help": "custom question template"})
    dataset_name: str | None = field(default=None, metadata={"help": "fills <dataset_placeholder>"})
    output_dir: str | None = field(default=None, metadata={"help": "output folder"})
    batch_size: int = field(default=1, metadata={"help": "prompts per generate call"})
    limit: int | None = field(default=None, metadata={"help": "first N queries only"})
    num_workers: int = field(default=2, metadata={"help": "video decoding threads"})
    video_cache: int = field(default=4, metadata={"help": "decoded videos kept for reuse"})
    retry_failed: bool = field(default=True, metadata={"help": "retry missing/corrupt videos on rerun"})
    overwrite: bool = field(default=False, metadata={"help": "discard earlier samples"})
    plots: bool = field(default=False, metadata={"help": "write PNG plots"})
    plot_samples: int = field(default=12, metadata={"help": "queries shown in the plots"})
    java: bool = field(default=True, metadata={"help": "Java-based dense-captioning metrics"})
    dist_timeout_minutes: int = field(default=24 * 60, metadata={"help": "rank wait limit at the end"})
    scores: str = field(default="model", metadata={"help": "rank detections by", "choices": list(SCORE_MODES)})
    tad_queries: str = field(default="all", metadata={"help": "TAD: classes asked per video",
                                                      "choices": ["all", "present"]})  # fmt: skip

    def __post_init__(self):
        if isinstance(self.model, dict):
            self.model = ModelConfig(**self.model)
        if isinstance(self.sampling, dict):
            self.sampling = SamplingConfig(**self.sampling)
        if isinstance(self.generation, dict):
            self.generation = GenerationConfig(**self.generation)
        if self.dataset and self.dataset not in BENCHMARK_NAMES:
            raise ValueError(f"dataset must be one of {', '.join(BENCHMARK_NAMES)}, got {self.dataset!r}")
        bad = [t for t in self.tasks if t not in EVAL_TASKS]
        if bad:
            raise ValueError(f"tasks must be among {', '.join(EVAL_TASKS)}, got {bad}")
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"tasks lists a task twice: {self.tasks}")
        if self.scores not in SCORE_MODES:
            raise ValueError(f"scores must be one of {', '.join(SCORE_MODES)}, got {self.scores!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1 (or null for all), got {self.limit}")
        if self.num_workers < 0 or self.video_cache < 0:
            raise ValueError(f"num_workers and video_cache must be >= 0, got {self.num_workers}, {self.video_cache}")
        if "{vid}" not in self.video_template:
            raise ValueError(f"video_template must contain '{{vid}}', got {self.video_template!r}; e.g. '{{vid}}.mp4'")
        if self.plot_samples < 1:
            raise ValueError(f"plot_samples must be >= 1, got {self.plot_samples}")

    def check_runnable(self) -> None:
        """Check what a run needs beyond the field types (the YAML test loads configs without these).

        Raises:
            ValueError: No dataset, no task, or no ground-truth file / video root / model given.
        """
        missing = [name for name in ("dataset", "gt_path", "video_root") if not getattr(self, name)]
        if not self.tasks:
            missing.append("tasks")
        if not self.model.path and not self.lora_path:
            missing.append("model.path (--model_path) or lora_path (--lora_path)")
        if missing:
            raise ValueError(
                f"the evaluation config does not set {', '.join(missing)}; pass them as flags "
                "(--dataset, --gt_path, --video_root, --model_path) or in an eval_configs/*.yaml file"
            )
