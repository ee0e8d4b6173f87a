"""What ``--model vidllm`` does with vidllm, tested in vidllm's own environment (no lmms-eval needed): arguments,
generation kwargs, answers rewritten in seconds, and the backend on the tiny checkpoint and real mp4 files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lmms_helpers import FAMILY, TRAINED_FPS, TRAINED_MAX_FRAMES

from vidllm.integrations.lmms_eval import MODEL_CLASS, MODEL_ID
from vidllm.integrations.lmms_eval.backend import (
    Backend,
    ModelArgs,
    Request,
    cut_at,
    generation_kwargs,
    intervals_in_seconds,
    video_of,
)
from vidllm.models.config import TimeConfig
from vidllm.time import get_scheme, parse_intervals
from vidllm.video import read_frames


def test_vidllm_core_does_not_import_lmms_eval():
    import sys

    import vidllm.integrations.lmms_eval  # noqa: F401  (the entry-point module: imported by lmms-eval's registry)

    assert "lmms_eval" not in sys.modules  # neither vidllm, the entry-point module nor the backend import it
    assert (MODEL_ID, MODEL_CLASS) == ("vidllm", "vidllm.integrations.lmms_eval.model.VidLLM")


# ------------------------------------------------------------------------------------------------------ arguments


def test_model_args_errors_name_the_fix():
    with pytest.raises(ValueError, match="unknown --model_args pretraind.*valid: .*pretrained"):
        ModelArgs.from_kwargs({"pretraind": "/ckpt"})
    with pytest.raises(ValueError, match="needs --model_args pretrained="):
        ModelArgs.from_kwargs({"batch_size": 1})
    with pytest.raises(ValueError, match="no 'auto'"):
        ModelArgs.from_kwargs({"pretrained": "/ckpt", "batch_size": "auto"})
    with pytest.raises(ValueError, match="on_error must be one of empty, raise"):
        ModelArgs.from_kwargs({"pretrained": "/ckpt", "on_error": "skip"})
    with pytest.raises(ValueError, match="exclusive"):
        ModelArgs.from_kwargs({"pretrained": "/ckpt", "fps": 1.0, "num_frames": 8}).sampling_config()


def test_model_args_from_lmms_eval_kwargs():
    # lmms-eval adds batch_size / device / max_batch_size; None means "not given"
    args = ModelArgs.from_kwargs({"pretrained": "/ckpt", "lora": "/lora", "fps": 2, "batch_size": 4, "device": None,
                                  "max_batch_size": None})  # fmt: skip
    assert (args.pretrained, args.lora, args.fps, args.batch_size, args.device) == ("/ckpt", "/lora", 2, 4, "auto")
    assert args.sampling_config().fps == 2 and args.sampling_config().max_frames is None  # unset: as trained


def test_generation_kwargs_as_lmms_eval_tasks_write_them():
    charades = {"max_new_tokens": 50, "temperature": 0, "top_p": 1.0, "num_beams": 1, "do_sample": False}
    assert generation_kwargs(charades, 256) == ({"max_new_tokens": 50, "do_sample": False, "num_beams": 1}, [])
    sampled, until = generation_kwargs({"temperature": 0.7, "until": "\n"}, 256)
    assert sampled == {"max_new_tokens": 256, "do_sample": True, "num_beams": 1, "temperature": 0.7, "top_p": 1.0}
    assert until == ["\n"]
    assert generation_kwargs({"do_sample": True}, 8)[0]["temperature"] == 1.0  # no temperature: do_sample decides
    with pytest.raises(ValueError, match="until must be a string or a list"):
        generation_kwargs({"until": 3}, 8)
    assert cut_at("12 - 20 seconds.\nAnd more", ["\n", ""]) == "12 - 20 seconds."


def test_visuals_must_be_one_video():
    assert video_of(None) is None and video_of([]) is None
    assert video_of(["/v/a.mp4"]) == "/v/a.mp4"
    from PIL import Image

    with pytest.raises(NotImplementedError, match="1 visual.*Image.*not supported"):
        video_of([Image.new("RGB", (4, 4))])
    with pytest.raises(NotImplementedError, match="2 visual"):
        video_of(["/v/a.mp4", "/v/b.mp4"])


# -------------------------------------------------------------------------------------------- answers in seconds


def test_intervals_in_seconds_per_scheme():
    frames = TimeConfig(scheme="frames")
    assert (
        intervals_in_seconds("From Frame 3 to Frame 9.", frames, fps=0.5, duration=30.0)
        == "From 6.00 - 18.00 seconds."
    )
    vtg = TimeConfig(scheme="vtgllm", time_tokens=True)
    answer = f"{get_scheme('vtgllm').format_span(12.5, 20.0)}, a man opens the door."
    assert intervals_in_seconds(answer, vtg, fps=1.0, duration=30.0) == "12.50 - 20.00 seconds, a man opens the door."
    bins = TimeConfig(scheme="bins", scheme_kwargs={"num_bins": 11}, time_tokens=True)
    rewritten = intervals_in_seconds("It happens <t2> - <t5>", bins, fps=1.0, duration=30.0)
    assert rewritten == "It happens 6.00 - 15.00 seconds"
    # a frame reference without fps is left as written; text that is not an interval is untouched
    assert intervals_in_seconds("Frame 3 to Frame 9", frames, fps=None, duration=None) == "Frame 3 to Frame 9"
    assert intervals_in_seconds("No time here, 3 people.", frames, fps=1.0, duration=8.0) == "No time here, 3 people."


span = st.tuples(st.integers(0, 3000), st.integers(0, 600)).map(lambda t: (t[0] / 10, (t[0] + t[1]) / 10))
words = st.sampled_from(["The event happens in", "It is", "Answer:", "a man opens the door", ""])


@given(span, st.sampled_from(["text", "vtgllm", "frames"]), words, words)
def test_rewriting_keeps_what_vidllm_reads(interval, scheme_name, before, after):
    """vidllm's parser reads the same interval (to 10 ms) from the rewritten answer as from the model's."""
    time = TimeConfig(scheme=scheme_name)
    fps = 2.0
    answer = f"{before} {time.make_scheme(fps=fps).format_span(*interval)} {after}".strip()
    expected = parse_intervals(answer, fps=fps)
    rewritten = intervals_in_seconds(answer, time, fps=fps, duration=None)
    assert rewritten.count("seconds") >= 1 and "Frame" not in rewritten and "<TIME" not in rewritten
    assert parse_intervals(rewritten) == [tuple(float(f"{v:.2f}") for v in p) for p in expected]


# ------------------------------------------------------------------------------------------ the backend, tiny model


def test_backend_answers_counts_failures_and_reads_as_trained(tiny_base, frames_lora, synthetic_docs):
    backend = Backend(ModelArgs(pretrained=str(tiny_base), lora=str(frames_lora), device="cpu", max_new_tokens=6,
                                num_workers=0))  # fmt: skip
    assert backend.adapter.name == FAMILY and backend.adapter.config.time.scheme == "frames"
    assert (backend.sampling.fps, backend.sampling.max_frames) == (TRAINED_FPS, TRAINED_MAX_FRAMES)
    assert backend.sampling.sources == {"fps": "checkpoint", "max_frames": "checkpoint"}
    assert backend.rewrite_answers  # frame numbers are not seconds
    doc = synthetic_docs[0]
    requests = [
        Request(f"When does {doc['caption']} happen?", {"max_new_tokens": 4}, lambda: [doc["video"]]),
        Request("When?", {"max_new_tokens": 4}, lambda: ["/no/such/video.mp4"]),
        Request("Say something.", {"max_new_tokens": 4}, lambda: None),  # text only
    ]
    answers = backend.generate(requests, progress=False)
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers) and answers[1] == ""
    assert dict(backend.counts) == {"ok": 2, "missing_video": 1}

    raising = Backend(ModelArgs(pretrained=str(tiny_base), device="cpu", on_error="raise", num_workers=0))
    assert not raising.rewrite_answers and raising.sampling.sources["fps"] == "default"
    with pytest.raises(FileNotFoundError):
        raising.generate(requests[1:2], progress=False)


def test_backend_builds_the_inputs_vidllm_eval_builds(tiny_base, synthetic_docs):
    """One request through the backend == the same video and prompt through the adapter by hand, batched or not."""
    backend = Backend(ModelArgs(pretrained=str(tiny_base), device="cpu", fps=1.0, batch_size=2, num_workers=1))
    adapter = backend.adapter
    prompts = [f"When does {d['caption']} happen? <image>" for d in synthetic_docs[:2]]
    requests = [Request(p, {"max_new_tokens": 5}, lambda d=d: [d["video"]]) for p, d in zip(prompts, synthetic_docs)]
    answers = backend.generate(requests, progress=False)
    by_hand = []
    for prompt, doc in zip(prompts, synthetic_docs):
        video = read_frames(doc["video"], **backend.read_kwargs)
        assert len(video.timestamps) == 8  # 8 s at 1 fps
        text = {"type": "text", "text": prompt.replace(" <image>", "")}
        messages = [{"role": "user", "content": [{"type": "video", "video": doc["video"]}, text]}]
        inputs = adapter.build_inputs(messages, [video], add_generation_prompt=True, durations=[video.duration])
        by_hand.append(inputs)
    expected = adapter.generate(adapter.collate(by_hand, padding_side="left"), max_new_tokens=5, do_sample=False,
                                num_beams=1)  # fmt: skip
    assert answers == expected
