"""LLaMA-Factory sharegpt video data reads into records; records write back to it."""

import json

from vidllm.data import read_sharegpt, write_sharegpt
from vidllm.data.load import load_records
from vidllm.time import get_scheme

ITEMS = [
    {
        "messages": [
            {"role": "user", "content": "<video>What happens in the video?"},
            {"role": "assistant", "content": "A man cooks."},
            {"role": "user", "content": "When does 'the man flips the pancake' happen?"},
            {"role": "assistant", "content": "The man flips the pancake from 0:12 to 0:20."},
        ],
        "videos": ["cooking/abc.mp4"],
        "system": "You are a helpful assistant.",
    },
    {
        "conversations": [
            {"from": "human", "value": "<video>\nDescribe the events with their times."},
            {"from": "gpt", "value": "0.0 - 5.0 seconds, a dog runs. 5.0 - 9.5 seconds, the dog sleeps."},
        ],
        "videos": "dogs/d.mp4",
    },
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}], "videos": ["a", "b"]},
    {
        "messages": [{"role": "user", "content": "<video>Is it raining?"}, {"role": "assistant", "content": "No."}],
        "videos": ["rain.mp4"],
    },  # fmt: skip
    {"messages": [{"role": "assistant", "content": "no question"}], "videos": ["x.mp4"]},
]


def test_read_sharegpt(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps(ITEMS))
    records, report = read_sharegpt(path)
    assert (report.read, report.kept) == (5, 3)
    assert {p.record: p.field for p in report.problems} == {2: "videos", 4: "messages"}
    mr, dvc, qa = records
    assert (mr.task, mr.targets.intervals, mr.video) == ("mr", ((12.0, 20.0),), "cooking/abc.mp4")
    assert mr.history == (("What happens in the video?", "A man cooks."),) and mr.system.startswith("You are")
    assert mr.prompt == "When does 'the man flips the pancake' happen?" and mr.query == "the man flips the pancake"
    assert dvc.task == "dvc" and dvc.targets.captions == ((0.0, 5.0, "a dog runs"), (5.0, 9.5, "the dog sleeps"))
    assert dvc.prompt == "Describe the events with their times."
    assert (qa.task, qa.answer) == ("qa", "No.")
    # jsonl works too, and load_records detects the format
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_text("\n".join(json.dumps(i) for i in ITEMS) + "\n")
    assert load_records(jsonl).records == [r.replace(source=r.source.replace("data.json", "data.jsonl")) for r in
                                           records]  # fmt: skip


def test_write_sharegpt_roundtrip(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps(ITEMS))
    records, _ = read_sharegpt(path)
    out = write_sharegpt(records, tmp_path / "out.json", get_scheme("vtgllm"))
    items = json.loads(out.read_text())
    assert items[0]["messages"][0]["content"] == "<video>What happens in the video?"
    assert items[0]["messages"][3]["content"].startswith("<TIME_ZERO><TIME_ZERO><TIME_ONE><TIME_TWO><TIME_DOT>")
    assert items[0]["system"] == "You are a helpful assistant." and "system" not in items[1]
    again, report = read_sharegpt(out)
    assert report.skipped == 0 and [r.targets for r in again] == [r.targets for r in records]
