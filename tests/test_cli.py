import json

from vidllm.cli import main


def test_score_tvg_prints_table_and_writes_json(shared_data, tmp_path, capsys):
    out = tmp_path / "scores.json"
    code = main(
        [
            "score", "tvg", "--sample", "--json", str(out),
            "--pred", str(shared_data / "charades_sta" / "example_pred.timechat.json"),
            "--gt", str(shared_data / "charades_sta" / "test.caption_coco_format.json"),
        ]
    )  # fmt: skip
    assert code == 0
    assert "R1@0.5" in capsys.readouterr().out
    assert json.loads(out.read_text())["R1@0.3"] == 9.0


def test_bad_input_is_one_line_not_a_traceback(tmp_path, capsys):
    assert main(["score", "tvg", "--pred", str(tmp_path / "missing.json"), "--gt", "gt.json"]) == 2
    err = capsys.readouterr().err
    assert "missing.json: no such file" in err and "Traceback" not in err
