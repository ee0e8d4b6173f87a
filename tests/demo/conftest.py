"""Fixtures of the demo tests: a tiny checkpoint, an example video, a scripted model and a running server."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

pytest.importorskip("gradio")

from vidllm.demo.app import DemoModel, build_app, launch  # noqa: E402
from vidllm.demo.examples import write_example_video  # noqa: E402
from vidllm.models.tiny import write_tiny_checkpoint  # noqa: E402

SCRIPTED_ANSWER = "The red square is visible from 2.0 to 6.5 seconds, then from 9.0 to 12.0 seconds."


class ScriptedAdapter:
    """The real adapter (inputs built by it) whose ``generate`` returns a fixed, parseable answer."""

    def __init__(self, adapter, answer: str = SCRIPTED_ANSWER):
        self._adapter, self.answer, self.calls = adapter, answer, 0

    def __getattr__(self, name):
        return getattr(self._adapter, name)

    def generate(self, batch, **gen_kwargs):
        self.calls += 1
        assert batch["input_ids"].shape[0] == 1
        return [self.answer]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> DemoModel:
    folder = write_tiny_checkpoint("qwen2_5_vl", tmp_path_factory.mktemp("demo") / "tiny")
    return DemoModel.load(str(folder), device="cpu")


@pytest.fixture(scope="session")
def scripted_model(tiny_model) -> DemoModel:
    return DemoModel(ScriptedAdapter(tiny_model.adapter), dict(tiny_model.read_kwargs), "scripted tiny model")


@pytest.fixture(scope="session")
def example_video(tmp_path_factory) -> Path:
    return write_example_video(tmp_path_factory.mktemp("demo_video") / "shapes.mp4")


@pytest.fixture(scope="session")
def bad_upload(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo_bad") / "notes.mp4"
    path.write_text("this is not a video\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(scripted_model, example_video):
    """The app on the scripted tiny model, served on 127.0.0.1 on a free port; yields its URL."""
    app = build_app(scripted_model, examples=[str(example_video)], max_upload_mb=5, max_new_tokens=16)
    port = free_port()
    launch(app, host="127.0.0.1", port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()
