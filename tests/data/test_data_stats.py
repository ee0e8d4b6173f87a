"""`vidllm data stats` runs on the shared file and on a file with problems."""

import json

from vidllm.cli import main
from vidllm.data import compute_stats, read_vtg_it


def test_stats_of_the_shared_file(vtg_it_file, capsys):
    assert main(["data", "stats", str(vtg_it_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("100 records, 74 videos, 0 with a known duration")
    assert "    mr      40" in out and "   dvc      30" in out and "   vhd      30" in out
    assert "interval lengths (297, mean 16.1 s):" in out


def test_stats_numbers(vtg_it_file):
    records, report = read_vtg_it(vtg_it_file)
    stats = compute_stats(records, report)
    assert stats.per_task == {"mr": 40, "dvc": 30, "vhd": 30}
    assert stats.interval_lengths.total == 40 + sum(len(r.targets.captions) for r in records)
    assert sum(stats.interval_lengths.counts) == stats.interval_lengths.total
    assert stats.durations.total == 0


def test_stats_list_problems_and_durations(tmp_path, capsys):
    items = [
        {"video": "a.mp4", "duration": 40, "QA": [{"q": "'a'", "a": "1 - 3 seconds, a."}]},
        {"video": "b.mp4", "duration": 10, "QA": [{"q": "'b'", "a": "12 - 14 seconds, b."}]},
        {"video": "c.mp4", "duration": 700, "QA": [{"q": "'c'", "a": "690 - 703 seconds, c."}]},
    ]
    path = tmp_path / "it.json"
    path.write_text(json.dumps(items))
    assert main(["data", "stats", str(path), "--video-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 read, 2 kept, 1 skipped, 1 fixed, 2 videos missing" in out
    assert "video durations (2, mean 370.0 s):" in out
    assert "problems (2, 2 kinds):" in out and "record 1, field 'intervals[0]'" in out
    assert main(["data", "stats", str(tmp_path / "nope.json")]) == 2
