"""The chat demo: ask a video *when* things happen and see the answer on its timeline.

The UI is built from plain functions around a :class:`DemoModel` (the loaded adapter and the sampling it was trained
with); nothing is global. Safe by default: :func:`launch` binds ``127.0.0.1``, never makes a share link, limits
uploads in size, and every upload is checked to be a readable video before it reaches the model.

Bounded work per request (:class:`Limits`): a question longer than ``max_question_chars`` is refused; the chat keeps
the last ``max_history`` messages, and the model sees only as many of those as fit its context next to the video
and the answer (``max_context_tokens``, default the model's own), newest first. Requests of other users are served
beside a long one: the ask event runs ``concurrency`` requests at a time, and uploads are handled apart.

>>> model = DemoModel.load("/models/Qwen2.5-VL-7B-Instruct", "runs/tvg")          # doctest: +SKIP
>>> launch(build_app(model), host="127.0.0.1", port=7860)                          # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no call-out at start

from vidllm.demo.timeline import parse_answer, thumbnails, timeline_html  # noqa: E402
from vidllm.eval.config import SamplingConfig  # noqa: E402
from vidllm.eval.model_source import frame_read_kwargs, load_model, resolve_sampling, training_sampling  # noqa: E402
from vidllm.models.config import ModelConfig  # noqa: E402
from vidllm.video import VideoDecodeError, read_frames  # noqa: E402

logger = logging.getLogger(__name__)

MAX_UPLOAD_MB = 200
MAX_QUESTION_CHARS = 2000
MAX_HISTORY = 20
TURN_OVERHEAD_TOKENS = 8  # role markers and newlines of one chat turn in the template
VIDEO_ELEM_ID = "vidllm-video"
NO_VIDEO_HINT = "Upload a video (or pick an example) first, then ask when something happens."
EXAMPLE_QUESTIONS = (
    "When does the red square appear?",
    "List the steps with their times.",
    "What are the highlights?",
)
SEEK_JS = f"""
element.addEventListener('click', (e) => {{
  const hit = e.target.closest('[data-t]');
  if (!hit) return;
  e.preventDefault();
  const video = document.querySelector('#{VIDEO_ELEM_ID} video');
  if (video) {{ video.currentTime = parseFloat(hit.dataset.t); }}
}});
"""


@dataclass(frozen=True)
class Limits:
    """How much one request may ask of the model.

    Attributes:
        max_question_chars: Longest question accepted (characters); longer ones get a message, not an answer.
        max_history: Chat messages kept (user and assistant, newest); older ones leave the chat.
        max_context_tokens: Tokens the prompt (history, question, video) plus the answer may take; ``None``: the
            model's ``max_position_embeddings``. History that does not fit is left out, oldest first.
    """

    max_question_chars: int = MAX_QUESTION_CHARS
    max_history: int = MAX_HISTORY
    max_context_tokens: int | None = None

    def __post_init__(self):
        for name in ("max_question_chars", "max_history", "max_context_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")


@dataclass
class DemoModel:
    """A loaded model and the frame sampling it was trained with.

    Attributes:
        adapter: The loaded :class:`vidllm.models.VideoLLMAdapter`.
        read_kwargs: :func:`vidllm.video.read_frames` arguments (the checkpoint's sampling, else the defaults).
        description: One line about the checkpoint, shown in the UI.
    """

    adapter: Any
    read_kwargs: dict[str, Any]
    description: str = ""

    @classmethod
    def load(
        cls,
        model_path: str,
        lora_path: str | None = None,
        *,
        family: str = "qwen2_5_vl",
        device: str | None = None,
        sampling: SamplingConfig | None = None,
    ) -> DemoModel:
        """Load ``--model_path BASE [--lora_path ADAPTER]`` as the evaluation does, with its time components and
        training sampling (:mod:`vidllm.eval.model_source`). ``trust_remote_code`` stays off."""
        config = ModelConfig(family=family, path=model_path)
        if device is not None:
            config.device = device
        loaded = load_model(config, lora_path)
        lora_parent = str(Path(lora_path).resolve().parent) if lora_path else None
        trained = training_sampling(lora_path, lora_parent, model_path)
        resolved = resolve_sampling(sampling or SamplingConfig(), trained)
        read_kwargs = frame_read_kwargs(resolved, loaded.adapter)
        time = loaded.adapter.config.time
        description = (
            f"{loaded.family} from {model_path}" + (f" + {lora_path}" if lora_path else "") + f"; time: {time}; "
            f"sampling: fps={resolved.fps} max_frames={resolved.max_frames} ({resolved.sources})"
        )
        return cls(loaded.adapter, read_kwargs, description)


def read_video(model: DemoModel, path: str, fps: float | None = None, max_frames: int | None = None):
    """The frames the model sees, with the UI's ``fps`` / ``max_frames`` over the checkpoint's sampling.

    Raises:
        VideoDecodeError: The file is not a readable video.
    """
    kwargs = dict(model.read_kwargs)
    if fps:
        kwargs["fps"], kwargs["num_frames"] = float(fps), None
    if max_frames:
        kwargs["max_frames"] = int(max_frames)
    return read_frames(path, **kwargs)


def check_upload(path: str | None, max_bytes: int) -> str | None:
    """``None`` when ``path`` is a readable video of at most ``max_bytes``, else a message for the chat."""
    if not path:
        return NO_VIDEO_HINT
    file = Path(path)
    if not file.is_file():
        return f"The upload {file.name} did not arrive; upload the video again."
    size = file.stat().st_size
    if size > max_bytes:
        return f"{file.name} is {size / 2**20:.1f} MB; expected at most {max_bytes / 2**20:.0f} MB. Trim it first."
    try:
        video = read_frames(path, num_frames=1)
    except (VideoDecodeError, ValueError, OSError) as e:
        logger.info("rejected upload %s: %s", path, e)
        return f"{file.name} is not a video this demo can read (expected an mp4/webm/mkv/mov video). Upload another."
    if video.duration <= 0:
        return f"{file.name} has no frames; upload another video."
    return None


def message_text(content: Any) -> str:
    """The text of a chat message's content: a string, or gradio 6's list of ``{"type": "text", "text"}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type", "text") == "text")
    return ""


def _turns(history: Sequence[dict]) -> list[dict]:
    """The user / assistant messages of a chat history with their text (other roles and empty ones left out)."""
    return [
        {"role": m["role"], "content": message_text(m.get("content"))}
        for m in history
        if isinstance(m, dict) and m.get("role") in ("user", "assistant") and message_text(m.get("content"))
    ]


def _messages(history: Sequence[dict], question: str) -> list[dict]:
    """The conversation for the model: the video in the first user turn, earlier turns as text."""
    turns = _turns(history)
    out, first = [], True
    for m in [*turns, {"role": "user", "content": question}]:
        content = [{"type": "text", "text": m["content"]}]
        if m["role"] == "user" and first:
            content.insert(0, {"type": "video"})
            first = False
        out.append({"role": m["role"], "content": content})
    return out


def context_budget(adapter: Any, limits: Limits, max_new_tokens: int) -> int:
    """Tokens the prompt may take: the context (``limits`` or the model's) minus room for the answer."""
    context = limits.max_context_tokens
    if context is None:
        config = getattr(getattr(adapter, "model", None), "config", None)
        text = getattr(config, "text_config", config)
        context = getattr(text, "max_position_embeddings", None) or 32768
    return max(int(context) - max_new_tokens, 1)


def fit_history(adapter: Any, history: Sequence[dict], question: str, video: Any, budget: int) -> list[dict]:
    """The newest messages of ``history`` that fit ``budget`` tokens beside the question and the video.

    The question with the video is built once to measure it; each earlier message is measured by its text's tokens
    plus :data:`TURN_OVERHEAD_TOKENS`, newest first, until the next one would not fit.

    Raises:
        ValueError: The question and the video alone do not fit (fewer frames or a shorter question needed).
    """
    alone = adapter.build_inputs(_messages([], question), [video], add_generation_prompt=True,
                                 durations=[video.duration])  # fmt: skip
    used = int(alone["input_ids"].shape[-1])
    if used > budget:
        raise ValueError(f"the question and the video take {used} tokens, more than the {budget} the model has")
    tokenizer = adapter.processor.tokenizer
    kept: list[dict] = []
    for turn in reversed(_turns(history)):
        cost = len(tokenizer(turn["content"], add_special_tokens=False)["input_ids"]) + TURN_OVERHEAD_TOKENS
        if used + cost > budget:
            break
        used += cost
        kept.append(turn)
    kept.reverse()
    if kept and kept[0]["role"] == "assistant":  # start on a user turn, as chats do
        kept = kept[1:]
    return kept


def stream_answer(adapter: Any, inputs: dict, max_new_tokens: int) -> Iterator[str]:
    """Yield the answer as it grows (through a ``TextIteratorStreamer``), then the whole answer once more.

    The adapter's ``generate`` passes ``streamer`` on to Hugging Face ``generate``; an adapter that does not stream
    yields just its final text.
    """
    from transformers import TextIteratorStreamer

    streamer = TextIteratorStreamer(adapter.processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["text"] = adapter.generate(
                adapter.collate([inputs], padding_side="left"), max_new_tokens=max_new_tokens, streamer=streamer
            )[0]
        except Exception as e:  # shown in the chat, never raised into the UI
            result["error"] = e
        finally:
            streamer.end()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    text = ""
    for piece in streamer:
        text += piece
        yield text
    thread.join()
    if "error" in result:
        logger.exception("generation failed", exc_info=result["error"])
        raise RuntimeError(f"generation failed: {result['error']}")
    yield result.get("text", text)


def ask(
    model: DemoModel | None,
    video_path: str | None,
    question: str,
    history: list[dict] | None,
    fps: float | None = None,
    max_frames: int | None = None,
    max_new_tokens: int = 128,
    max_bytes: int = MAX_UPLOAD_MB * 2**20,
    limits: Limits | None = None,
) -> Iterator[tuple[list[dict], str, list]]:
    """Answer ``question`` about the video, streaming ``(chat history, timeline html, thumbnails)``.

    The returned chat holds at most ``limits.max_history`` earlier messages plus this exchange; the model sees the
    newest of them that fit its context (:func:`fit_history`).
    """
    limits = limits or Limits()
    history = list(history or [])[-limits.max_history :] if limits.max_history else []
    question = (question or "").strip()
    if not question:
        yield history, "", []
        return
    if len(question) > limits.max_question_chars:
        history.append({"role": "assistant", "content": (
            f"Your question has {len(question):,} characters; this demo takes at most "
            f"{limits.max_question_chars:,}. Ask a shorter question.")})  # fmt: skip
        yield history, "", []
        return
    history.append({"role": "user", "content": question})
    if model is None:
        history.append({"role": "assistant", "content": "No model is loaded; start the demo with --model_path."})
        yield history, "", []
        return
    problem = check_upload(video_path, max_bytes)
    if problem:
        history.append({"role": "assistant", "content": problem})
        yield history, "", []
        return
    try:
        video = read_video(model, video_path, fps, max_frames)
        budget = context_budget(model.adapter, limits, max_new_tokens)
        earlier = fit_history(model.adapter, history[:-1], question, video, budget)
        if len(earlier) < len(_turns(history[:-1])):
            logger.info("the model sees %d of %d earlier messages (context budget %d tokens)", len(earlier),
                        len(_turns(history[:-1])), budget)  # fmt: skip
        inputs = model.adapter.build_inputs(
            _messages(earlier, question), [video], add_generation_prompt=True, durations=[video.duration]
        )
    except Exception as e:
        logger.exception("could not prepare %s", video_path)
        history.append({"role": "assistant", "content": f"Could not read the video for the model: {e}"})
        yield history, "", []
        return
    history.append({"role": "assistant", "content": ""})
    text = ""
    try:
        for text in stream_answer(model.adapter, inputs, max_new_tokens):
            history[-1] = {"role": "assistant", "content": text}
            yield history, "", []
    except RuntimeError as e:
        history[-1] = {"role": "assistant", "content": f"{e}. Try fewer frames or a shorter question."}
        yield history, "", []
        return
    time_cfg = model.adapter.config.time
    bins = time_cfg.scheme == "bins"
    parsed = parse_answer(
        question,
        text,
        duration=float(video.duration),
        fps=float(video.sample_fps),
        num_bins=time_cfg.scheme_kwargs.get("num_bins") if bins else None,
    )
    times = [s for s, _, _ in parsed.events] or [t for t, _ in parsed.points]
    labels = [label for _, _, label in parsed.events] or [f"score {s:g}" for _, s in parsed.points]
    thumbs = thumbnails(video.frames, video.timestamps, times, labels)
    yield history, timeline_html(parsed.events, float(video.duration), parsed.points), thumbs


def on_upload(path: str | None, history: list[dict] | None, max_bytes: int) -> tuple[str | None, list[dict]]:
    """Check an upload: a video goes to the player; anything else gets a message in the chat."""
    history = list(history or [])
    if not path:
        return None, history
    problem = check_upload(path, max_bytes)
    if problem:
        history.append({"role": "assistant", "content": problem})
        return None, history
    history.append({"role": "assistant", "content": f"Loaded {Path(path).name}. Ask when something happens."})
    return path, history


def build_app(
    model: DemoModel | None,
    *,
    examples: Sequence[str] = (),
    max_upload_mb: int = MAX_UPLOAD_MB,
    max_new_tokens: int = 128,
    limits: Limits | None = None,
    concurrency: int = 1,
):
    """The gradio Blocks app around ``model`` (``None``: the UI says that no model is loaded).

    ``limits`` bound what one request asks of the model; ``concurrency`` is how many questions are answered at once
    (uploads are handled by their own event, so a long answer never holds them up).

    API names (for ``gradio_client``): ``/upload`` (file, history) -> (emptied file, video, history) and ``/ask``
    (video, question, history, fps, max_frames) -> (history, timeline html, thumbnails, emptied question).
    """
    import gradio as gr

    max_bytes = max_upload_mb * 2**20
    limits = limits or Limits()
    fps0 = (model.read_kwargs.get("fps") if model else None) or 1.0
    frames0 = (model.read_kwargs.get("max_frames") if model else None) or 96

    def _upload(path, history):
        video_path, history = on_upload(path, history, max_bytes)
        return None, video_path, history  # the upload box is emptied for the next file; the player holds the video

    def _ask(video_path, question, history, fps, max_frames):
        if model is not None and model.read_kwargs.get("fps") is None and fps == fps0:
            fps = None  # a checkpoint trained on num_frames keeps its sampling until the user changes the fps
        for history_out, timeline, thumbs in ask(
            model, video_path, question, history, fps, max_frames, max_new_tokens, max_bytes, limits
        ):
            yield history_out, timeline, thumbs, ""

    with gr.Blocks(title="vidllm: ask a video when") as app:
        gr.Markdown("## vidllm: ask a video *when* things happen")
        gr.Markdown(model.description if model else "**No model loaded.** Start with `--model_path`.")
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label=f"Upload a video (at most {max_upload_mb} MB)", type="filepath")
                video = gr.Video(
                    label="Video", elem_id=VIDEO_ELEM_ID, interactive=False, sources=["upload"], height=300
                )
                timeline = gr.HTML(label="Timeline", elem_id="vidllm-timeline", js_on_load=SEEK_JS)
                gallery = gr.Gallery(label="Frames at the answer's times", columns=4, height=140)
                with gr.Accordion("Sampling", open=False):
                    fps = gr.Number(label="Sampling fps", value=fps0, minimum=0.05, maximum=30)
                    max_frames = gr.Number(label="Max frames", value=frames0, minimum=1, maximum=768, precision=0)
            with gr.Column(scale=1):
                chat = gr.Chatbot(label="Chat", elem_id="vidllm-chat", height=420)
                question = gr.Textbox(label="Question", placeholder=EXAMPLE_QUESTIONS[0], elem_id="vidllm-question")
                send = gr.Button("Ask", variant="primary", elem_id="vidllm-ask")
                gr.Examples([[q] for q in EXAMPLE_QUESTIONS], inputs=[question], label="Questions")
        if examples:  # picking one checks it like an upload and starts a new chat

            def _example(path):
                return _upload(path, [])

            gr.Examples([[e] for e in examples], inputs=[upload], outputs=[upload, video, chat], fn=_example,
                        run_on_click=True, cache_examples=False, label="Example videos")  # fmt: skip
        upload.upload(_upload, [upload, chat], [upload, video, chat], api_name="upload", concurrency_limit=4,
                      concurrency_id="upload")  # fmt: skip
        ask_io = ([video, question, chat, fps, max_frames], [chat, timeline, gallery, question])
        # one pool for both ways of asking, so `concurrency` bounds what the model runs at once
        send.click(_ask, *ask_io, api_name="ask", concurrency_limit=concurrency, concurrency_id="ask")
        question.submit(_ask, *ask_io, api_name=False, concurrency_limit=concurrency, concurrency_id="ask")
    app.max_upload_mb = max_upload_mb
    return app


def launch(app, *, host: str = "127.0.0.1", port: int | None = None, block: bool = True) -> Any:
    """Serve ``app`` on ``host:port``: no share link, uploads capped, analytics off.

    Args:
        app: From :func:`build_app`.
        host: Interface to bind (``0.0.0.0`` exposes the demo to the network).
        port: Port (``None``: gradio picks a free one from 7860).
        block: Serve until interrupted; ``False`` returns once the server is up (tests).
    """
    app.queue()
    return app.launch(
        server_name=host,
        server_port=port,
        share=False,
        max_file_size=f"{getattr(app, 'max_upload_mb', MAX_UPLOAD_MB)}mb",
        prevent_thread_lock=not block,
        show_error=False,
        inbrowser=False,
        quiet=True,
    )
