"""Items 7 (demo port) and 9: the demo bounds what one request asks of the model and keeps serving others."""

from __future__ import annotations

import collections
import os
import socket
import threading

import pytest
from reliability_helpers import one_line_error

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
pytest.importorskip("gradio")

from vidllm.demo.app import (  # noqa: E402
    DemoModel,
    Limits,
    _messages,
    ask,
    build_app,
    launch,
    message_text,
    read_video,
)
from vidllm.demo.examples import write_example_video  # noqa: E402

ANSWER = "The red square is visible from 2.0 to 6.5 seconds."


class Recording:
    """The real tiny adapter, recording the conversation each prompt was built from; ``generate`` answers at once,
    or waits for ``release`` when ``hold`` is set (a long request)."""

    def __init__(self, adapter):
        self._adapter, self.prompts = adapter, []
        self.hold, self.release, self.started = False, threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self._adapter, name)

    def build_inputs(self, messages, videos, **kwargs):
        self.prompts.append(messages)
        return self._adapter.build_inputs(messages, videos, **kwargs)

    def generate(self, batch, **kwargs):
        if self.hold:
            self.hold = False
            self.started.set()
            assert self.release.wait(60), "the long request was never released"
        return [ANSWER]


@pytest.fixture(scope="module")
def model(tiny_checkpoint) -> DemoModel:
    loaded = DemoModel.load(str(tiny_checkpoint), device="cpu")
    return DemoModel(Recording(loaded.adapter), dict(loaded.read_kwargs), "recording tiny model")


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return str(write_example_video(tmp_path_factory.mktemp("demo_video") / "shapes.mp4"))


def _last(gen):
    return collections.deque(gen, maxlen=1)[0]


def test_a_taken_port_is_refused_before_the_model_loads(cli, tiny_checkpoint, no_model):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli("demo", "--model_path", tiny_checkpoint, "--port", port)
    line = one_line_error(err)
    assert code == 2 and f"--port {port} on 127.0.0.1 is not available" in line and "e.g. --port" in line


def test_a_too_long_question_gets_a_message_not_the_model(model, video):
    model.adapter.prompts.clear()
    history, _, _ = _last(ask(model, video, "when? " * 1000, [], limits=Limits(max_question_chars=500)))
    assert "at most 500" in message_text(history[-1]["content"]) and not model.adapter.prompts


def test_a_huge_history_is_capped_and_trimmed_to_the_context(model, video):
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i} " + "word " * 20}
               for i in range(6000)]  # fmt: skip
    model.adapter.prompts.clear()
    chat, _, _ = _last(ask(model, video, "When is the red square visible?", history, limits=Limits(max_history=10)))
    assert len(chat) == 12 and message_text(chat[-1]["content"]) == ANSWER  # 10 kept + this question and answer
    seen = model.adapter.prompts[-1]
    assert len(seen) <= 11 and "message 5999" in message_text(seen[-2]["content"][-1]["text"])
    # a small context: the model sees only the newest turns that fit beside the video, the question always
    clip = read_video(model, video)
    alone = model.adapter.build_inputs(_messages([], "When?"), [clip], add_generation_prompt=True,
                                       durations=[clip.duration])["input_ids"].shape[-1]  # fmt: skip
    model.adapter.prompts.clear()
    limits = Limits(max_history=10, max_context_tokens=int(alone) + 128 + 200)
    _last(ask(model, video, "When?", history, max_new_tokens=128, limits=limits))
    seen = model.adapter.prompts[-1]
    assert 1 < len(seen) < 11 and message_text(seen[-1]["content"][-1]["text"]) == "When?"
    assert model.adapter.prompts[-1][0]["role"] == "user"


def test_other_users_are_served_while_one_request_is_long(model, video):
    from gradio_client import Client, handle_file

    app = build_app(model, max_new_tokens=8, limits=Limits(max_history=4), concurrency=2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launch(app, host="127.0.0.1", port=port, block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        model.adapter.hold = True
        slow = Client(url, verbose=False).submit(handle_file(video), "first?", [], 1.0, 8, api_name="/ask")
        assert model.adapter.started.wait(60)
        history, *_ = Client(url, verbose=False).predict(handle_file(video), "second?", [], 1.0, 8, api_name="/ask")
        assert message_text(history[-1]["content"]) == ANSWER  # answered while the first still runs
        assert not slow.done()
        model.adapter.release.set()
        assert message_text(slow.result(timeout=60)[0][-1]["content"]) == ANSWER
    finally:
        model.adapter.release.set()
        app.close()
