"""Templates per named set, deterministic picking, eval prompts; the record -> messages seam."""

import random

import pytest

from vidllm.data import Record, Targets, eval_prompt, sample_prompt, templates, to_messages
from vidllm.data.prompts import fill, prompt_sets
from vidllm.time import get_scheme


def test_every_set_and_task_loads():
    sets = prompt_sets()
    assert set(sets) == {"timechat", "vtgllm", "numpro"}
    counts = {(s, t): len(templates(s, t)) for s, tasks in sets.items() for t in tasks}
    assert counts[("timechat", "mr")] == 6 and counts[("vtgllm", "mr")] == 14 and counts[("vtgllm", "dvc")] == 13
    assert counts[("vtgllm", "vhd")] == 20 and counts[("numpro", "mr")] == 2
    for s, t in counts:
        for template in templates(s, t):
            assert fill(template, query="a man runs", dataset="Charades").strip()


def test_sampling_is_deterministic_per_seed():
    pick = [sample_prompt("timechat", "mr", random.Random(7), query="x") for _ in range(3)]
    assert len(set(pick)) == 1
    rng = random.Random(7)
    many = [sample_prompt("vtgllm", "dvc", rng) for _ in range(50)]
    assert len(set(many)) > 5


def test_eval_prompts():
    assert eval_prompt("vtgllm", "mr", query="person opens a door.") == (
        "Find the video segment that corresponds to the given textual query 'person opens a door' and determine its "
        "start and end seconds."
    )
    assert eval_prompt("vtgllm", "dvc", dataset="ActivityNet").startswith("Detect and report the start and end")
    assert "charades dataset" in eval_prompt("timechat", "mr", query="x", dataset="charades")
    assert "'From Frame x to Frame y'" in eval_prompt("numpro", "mr", query="x")
    with pytest.raises(ValueError, match="valid sets"):
        eval_prompt("nope", "mr")
    with pytest.raises(ValueError, match="needs a query"):
        eval_prompt("numpro", "vhd")


def test_messages_for_a_model_adapter():
    record = Record("charades/3MSZA.mp4", "mr", "When?", Targets(intervals=((24.3, 30.4),)), query="a man runs",
                    system="Be brief.", history=(("What is this?", "A kitchen."),))  # fmt: skip
    messages = to_messages(record, get_scheme("text"), video_root="/data", video_options={"fps": 1.0})
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert messages[1]["content"][0] == {"type": "video", "video": "/data/charades/3MSZA.mp4", "fps": 1.0}
    assert messages[3]["content"] == [{"type": "text", "text": "When?"}]
    assert messages[4]["content"][0]["text"] == "24.3 - 30.4 seconds, a man runs."
    generation = to_messages(record.replace(system=None, history=()), get_scheme("vtgllm"), with_answer=False)
    assert [m["role"] for m in generation] == ["user"]
    assert generation[0]["content"][0]["video"] == "charades/3MSZA.mp4"
