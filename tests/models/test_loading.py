"""One loader: Hub ids through a pre-filled Hugging Face cache (offline), local folders, vidllm runs (adapter + base)
that record their base portably and still load after being moved."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tiny_models import COMMIT, fill_cache

from vidllm.models import LoraSettings, ModelConfig, detect_family, from_pretrained, load_model
from vidllm.models.checkpoint import META_FILE
from vidllm.models.hub import cached_repo_of, resolve_folder, split_hub_id
from vidllm.models.tiny import synthetic_video, video_messages

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def offline_cache(tmp_path, monkeypatch, tiny_folders):
    """``vidllm-test/tiny-qwen2-vl`` in a fresh cache, read with HF_HUB_OFFLINE."""
    import huggingface_hub.constants as constants

    cache = tmp_path / "hub"
    fill_cache(cache, "vidllm-test/tiny-qwen2-vl", Path(tiny_folders["qwen2_vl"]))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def _batch(adapter):
    answer = adapter.config.time.make_scheme(fps=1.0).format_span(1.0, 2.0)
    return adapter.collate([adapter.build_inputs(video_messages(answer=answer), [synthetic_video(8, fps=1.0)])])


def _logits(adapter):
    with torch.no_grad():
        return adapter.forward(_batch(adapter)).logits


def _train_lora(adapter):
    adapter.apply_lora(LoraSettings(r=4, alpha=8, dropout=0.0))
    adapter.model.train()
    adapter.forward(_batch(adapter)).loss.backward()
    torch.optim.SGD([p for p in adapter.model.parameters() if p.requires_grad], lr=0.5).step()
    adapter.model.eval()
    return adapter


def _no_absolute_paths(meta) -> bool:
    if isinstance(meta, dict):
        return all(_no_absolute_paths(v) for v in meta.values())
    if isinstance(meta, list):
        return all(_no_absolute_paths(v) for v in meta)
    return not (isinstance(meta, str) and os.path.isabs(meta))


def test_hub_id_loads_from_the_cache_offline(offline_cache, tiny_folders):
    adapter = from_pretrained("vidllm-test/tiny-qwen2-vl", device="cpu")  # family from the cached config.json
    assert adapter.name == "qwen2_vl" and adapter.base == {"hub": "vidllm-test/tiny-qwen2-vl"}
    assert cached_repo_of(adapter.base_path) == ("vidllm-test/tiny-qwen2-vl", COMMIT)
    local = from_pretrained(tiny_folders["qwen2_vl"], device="cpu")
    assert torch.equal(_logits(adapter), _logits(local))
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE is set"):
        from_pretrained("vidllm-test/not-cached", device="cpu")


@pytest.mark.integration
def test_hf_hub_offline_in_a_fresh_process(tmp_path, tiny_folders):
    """HF_HUB_OFFLINE=1 and HF_HUB_CACHE as a user sets them, in a process of its own."""
    cache = tmp_path / "hub"
    fill_cache(cache, "vidllm-test/tiny-qwen2-vl", Path(tiny_folders["qwen2_vl"]))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    code = (
        "from vidllm.models import from_pretrained; "
        "a = from_pretrained('vidllm-test/tiny-qwen2-vl', device='cpu'); print(a.name, a.base_path)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[0] == "qwen2_vl" and str(cache.resolve()) in out.stdout


def test_lora_run_on_a_hub_base_records_the_id_and_loads_anywhere(offline_cache, tmp_path):
    adapter = _train_lora(from_pretrained("vidllm-test/tiny-qwen2-vl", device="cpu"))
    expected = _logits(adapter)
    run = adapter.save(tmp_path / "runs" / "a")
    meta = json.loads((run / META_FILE).read_text())
    assert meta["base"] == {"hub": "vidllm-test/tiny-qwen2-vl"} and _no_absolute_paths(meta)
    moved = shutil.move(str(run), str(tmp_path / "elsewhere" / "run"))
    reloaded = from_pretrained(moved, device="cpu")
    assert reloaded.name == "qwen2_vl" and torch.equal(_logits(reloaded), expected)


def test_base_from_a_cache_folder_is_recorded_as_its_id(offline_cache, tmp_path):
    snapshot = offline_cache / "models--vidllm-test--tiny-qwen2-vl" / "snapshots" / COMMIT
    run = _train_lora(from_pretrained(snapshot, device="cpu")).save(tmp_path / "run")
    base = json.loads((run / META_FILE).read_text())["base"]
    assert base == {"hub": "vidllm-test/tiny-qwen2-vl", "revision": COMMIT}
    assert from_pretrained(run, device="cpu").base_path == snapshot.resolve()


def test_lora_run_on_a_local_base_moves_with_it_or_is_told_the_base(tiny_folders, tmp_path):
    project = tmp_path / "project"
    base = shutil.copytree(tiny_folders["qwen2_5_vl"], project / "models" / "tiny")
    adapter = _train_lora(from_pretrained(base, device="cpu"))
    expected = _logits(adapter)
    run = adapter.save(project / "runs" / "a")
    meta = json.loads((run / META_FILE).read_text())
    assert meta["base"] == {"path": "../../models/tiny"} and _no_absolute_paths(meta)
    moved_project = shutil.move(str(project), str(tmp_path / "copied" / "project"))  # run and base together
    assert torch.equal(_logits(from_pretrained(Path(moved_project) / "runs" / "a", device="cpu")), expected)
    alone = shutil.move(str(Path(moved_project) / "runs" / "a"), str(tmp_path / "alone"))  # the run alone
    with pytest.raises(FileNotFoundError, match=r"LoRA run whose base model .* is not there.*base="):
        from_pretrained(alone, device="cpu")
    told = from_pretrained(alone, base=Path(moved_project) / "models" / "tiny", device="cpu")
    assert torch.equal(_logits(told), expected)
    resaved = json.loads((told.save(tmp_path / "resaved") / META_FILE).read_text())
    assert resaved["base"] == {"path": "../copied/project/models/tiny"}  # relative to tmp/resaved


def test_format_1_runs_with_an_absolute_base_path_still_load(tiny_folders, tmp_path):
    adapter = _train_lora(from_pretrained(tiny_folders["qwen2_vl"], device="cpu"))
    run = adapter.save(tmp_path / "run")
    meta = json.loads((run / META_FILE).read_text())
    del meta["base"]
    (run / META_FILE).write_text(json.dumps({**meta, "format": 1, "base_path": str(Path(tiny_folders["qwen2_vl"]))}))
    assert torch.equal(_logits(from_pretrained(run, device="cpu")), _logits(adapter))


def test_family_detection_and_errors(tiny_folders, tmp_path):
    assert detect_family(tiny_folders["qwen3_vl"]) == "qwen3_vl"
    assert detect_family(tmp_path, default="longva") == "longva"  # nothing to read: the default
    # a config naming another family: the folder's family wins (model.family has a default, often left as is)
    adapter = load_model(ModelConfig(family="qwen2_5_vl", path=tiny_folders["qwen2_vl"], device="cpu"))
    assert adapter.name == "qwen2_vl"
    with pytest.raises(TypeError, match="unknown ModelConfig fields"):
        from_pretrained(tiny_folders["qwen2_vl"], devices="cpu")
    with pytest.raises(FileNotFoundError, match="does not exist; set model.path to a local checkpoint folder"):
        from_pretrained(str(tmp_path / "missing" / "folder"))
    with pytest.raises(FileNotFoundError, match="not a Hugging Face Hub id"):
        resolve_folder("no-slash-name")
    with pytest.raises(ValueError, match="is not a LoRA run folder"):
        from_pretrained(tiny_folders["qwen2_vl"], base=tiny_folders["qwen2_vl"], device="cpu")
    assert split_hub_id("Qwen/Qwen2.5-VL-7B-Instruct@main") == ("Qwen/Qwen2.5-VL-7B-Instruct", "main")
    assert split_hub_id("./models/tiny") is None and split_hub_id(tiny_folders["qwen2_vl"]) is None


def test_export_repoints_a_run_at_another_base(tiny_folders, tmp_path):
    from vidllm.train.export import export

    adapter = _train_lora(from_pretrained(tiny_folders["qwen2_vl"], device="cpu"))
    expected = _logits(adapter)
    run = adapter.save(tmp_path / "run")
    copy = shutil.copytree(tiny_folders["qwen2_vl"], tmp_path / "base_copy")
    out = export(run, tmp_path / "exported", base=copy)
    assert json.loads((out / META_FILE).read_text())["base"] == {"path": "../base_copy"}
    assert torch.equal(_logits(from_pretrained(out, device="cpu")), expected)
    merged = export(run, tmp_path / "merged", merge=True)
    assert "base" not in json.loads((merged / META_FILE).read_text())
    assert torch.allclose(_logits(from_pretrained(merged, device="cpu")), expected, atol=1e-4)
