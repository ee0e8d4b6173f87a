from vidllm.demo.app import NO_VIDEO_HINT, ask, check_upload, on_upload
from vidllm.demo.cli import add_arguments, add_subcommands


def _last(gen):
    outs = list(gen)
    return outs[-1]


def test_bad_uploads_get_a_message_not_a_traceback(bad_upload, example_video, tmp_path):
    assert "not a video" in check_upload(str(bad_upload), 2**20)
    assert "at most" in check_upload(str(example_video), 100)
    assert check_upload(None, 2**20) == NO_VIDEO_HINT
    assert check_upload(str(example_video), 2**20) is None
    video, history = on_upload(str(bad_upload), [], 2**20)
    assert video is None and "not a video" in history[-1]["content"]


def test_questions_without_model_or_video_get_a_hint(scripted_model, example_video):
    history, timeline, thumbs = _last(ask(None, str(example_video), "When?", []))
    assert "No model is loaded" in history[-1]["content"] and timeline == "" and thumbs == []
    history, _, _ = _last(ask(scripted_model, None, "When?", []))
    assert history[-1]["content"] == NO_VIDEO_HINT


def test_answer_is_parsed_onto_the_timeline(scripted_model, example_video):
    history, timeline, thumbs = _last(ask(scripted_model, str(example_video), "When is the red square?", [], 2.0, 8))
    assert history[-2:] == [
        {"role": "user", "content": "When is the red square?"},
        {"role": "assistant", "content": scripted_model.adapter.answer},
    ]
    assert 'data-t="2.000"' in timeline and 'data-t="9.000"' in timeline
    assert [caption.split()[0] for _, caption in thumbs] == ["2.0s", "9.0s"]
    assert thumbs[0][0].ndim == 3


def test_real_tiny_model_streams(tiny_model, example_video):
    outs = [h[-1]["content"] for h, _, _ in ask(tiny_model, str(example_video), "When?", [], 1.0, 4, 12)]
    assert len(outs) > 2 and outs[-1]  # partial answers, then the whole one
    assert any(len(a) < len(outs[-1]) for a in outs[1:-1])


def test_cli_flags_are_safe_by_default():
    import argparse

    args = add_arguments(argparse.ArgumentParser()).parse_args(["--model_path", "m"])
    assert args.host == "127.0.0.1" and args.lora_path is None
    runners = add_subcommands(argparse.ArgumentParser().add_subparsers())
    assert list(runners) == ["demo"]
