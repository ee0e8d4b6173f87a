"""The quickstart's parts: constant-span baseline, synthetic training stream, scratch model, settings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidllm.config import ConfigError, load_config
from vidllm.quickstart.baselines import best_constant_span, span_ious
from vidllm.quickstart.config import QuickstartConfig, load_quickstart_config
from vidllm.synthetic.dataset import SyntheticDataConfig, draw_record, draw_sample, hide_time
from vidllm.synthetic.render import BACKGROUND

spans = st.tuples(st.floats(0, 30), st.floats(0.5, 10)).map(lambda p: (p[0], p[0] + p[1]))


@given(st.lists(spans, min_size=1, max_size=20), st.lists(spans, min_size=1, max_size=20))
@settings(max_examples=50, deadline=None)
def test_span_ious_are_ious(cands, targets):
    ious = span_ious(np.array(cands), np.array(targets))
    assert ious.shape == (len(cands), len(targets))
    assert np.all((ious >= 0) & (ious <= 1 + 1e-12))
    np.testing.assert_allclose(np.diag(span_ious(np.array(cands), np.array(cands))), 1.0)


def test_best_constant_span_by_hand():
    # Two answers at 0-4 s, one at 10-14 s: 0-4 hits two of three at IoU >= 0.5.
    assert best_constant_span(np.array([[0, 4], [0, 4], [10, 14]])) == (0.0, 4.0)
    # Ties in hits go to the higher mean IoU: 2-6 overlaps both 0-6 and 2-8 by 4/6.
    start, end = best_constant_span(np.array([[0, 6], [2, 8]]))
    assert span_ious(np.array([[start, end]]), np.array([[0, 6], [2, 8]])).min() >= 0.5


@given(st.lists(spans, min_size=1, max_size=15))
@settings(max_examples=30, deadline=None)
def test_best_constant_span_beats_every_target_as_a_constant(targets):
    targets = np.round(np.array(targets) * 2) / 2  # on the 0.5-s grid, so every target is a candidate
    targets = targets[targets[:, 1] > targets[:, 0]]
    if len(targets) == 0:
        return
    best = np.array([best_constant_span(targets)])
    hits = (span_ious(best, targets) >= 0.5).mean()
    assert all(hits >= (span_ious(t[None], targets) >= 0.5).mean() for t in targets)


def test_stream_samples_are_deterministic_and_fresh():
    cfg = SyntheticDataConfig(size=28)
    a, b = draw_sample(cfg, 5, fps=2.0), draw_sample(cfg, 5, fps=2.0)
    assert a[0] == b[0] and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
    assert a[1].shape == (32, 28, 28, 3) and a[2][1] == 0.5
    prompts = {draw_record(cfg, i)[0].prompt + str(draw_record(cfg, i)[0].targets) for i in range(50)}
    assert len(prompts) > 40  # fresh scenes, not a small fixed set


def test_blind_frames_hide_time_only():
    real = draw_sample(SyntheticDataConfig(), 3, fps=2.0)
    shuffled = draw_sample(SyntheticDataConfig(frames="shuffled"), 3, fps=2.0)
    blank = draw_sample(SyntheticDataConfig(frames="blank"), 3, fps=2.0)
    assert real[0] == shuffled[0] == blank[0]  # same question and answer
    as_set = lambda frames: sorted(f.tobytes() for f in frames)  # noqa: E731
    assert as_set(real[1]) == as_set(shuffled[1]) and not np.array_equal(real[1], shuffled[1])
    assert np.all(blank[1] == BACKGROUND)
    with pytest.raises(ValueError, match="valid: real, shuffled, blank"):
        hide_time(real[1], "reversed", np.random.default_rng(0))


def test_config_checks():
    cfg = QuickstartConfig(ablation=["all"])
    names = [name for name, _, _ in cfg.runs()]
    assert names[:2] == ["slots", "blind_slots"]
    assert "numpro" in names and len(names) == len(set(names))
    with pytest.raises(ValueError, match="valid: plain, frame_text"):
        QuickstartConfig(variant="nope")
    with pytest.raises(ValueError, match="scenes.size=32 but model.frame=28"):
        QuickstartConfig(scenes=SyntheticDataConfig(size=32))
    with pytest.raises(ConfigError, match="steps"):
        load_quickstart_config(None, ["steps=0"])
    assert load_quickstart_config(None, ["scenes.num_events=[1,1]"]).scenes.num_events == [1, 1]


def test_scratch_model_loads_as_qwen2_vl(tmp_path):
    from vidllm.models import ModelConfig, load_model
    from vidllm.quickstart.model import ScratchModelConfig, count_parameters, write_scratch_model

    folder = write_scratch_model(tmp_path / "m", ScratchModelConfig())
    assert 0.5e6 < count_parameters(folder) < 1e6
    adapter = load_model(ModelConfig(family="qwen2_vl", path=str(folder), device="cpu", dtype="float32"))
    tokens = adapter.processor.tokenizer.tokenize(" the yellow triangle moves left")
    assert len(tokens) == 5  # the benchmark's words are single tokens
    record, frames, times = draw_sample(SyntheticDataConfig(), 0, fps=2.0)
    sample = adapter.build_inputs(
        [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": record.prompt}]}], [(frames, times)]
    )
    video_tokens = int((sample["input_ids"] == adapter.model.config.video_token_id).sum())
    assert video_tokens == len(frames) // 2  # one token per 2-frame group of 28x28 frames


def test_shipped_synthetic_config_trains_through_the_recipe(tmp_path):
    from pathlib import Path

    from vidllm.quickstart.model import ScratchModelConfig, write_scratch_model
    from vidllm.train.config import load_train_config
    from vidllm.train.recipe import run

    init = write_scratch_model(tmp_path / "init", ScratchModelConfig())
    repo = Path(__file__).resolve().parents[2]
    cfg = load_train_config(repo / "train_configs" / "synthetic_scratch.yaml", [
        f"model.path={init}", f"checkpoint.output_dir={tmp_path / 'run'}", "optim.max_steps=2",
        "optim.batch_size=2", "data.num_workers=0", "data.synthetic.frames=shuffled",
    ])  # fmt: skip
    out = run(cfg)
    assert (out / "vidllm.json").is_file() and (out / "trainer_state.json").is_file()


def test_shipped_eval_config_asks_what_the_stream_trains():
    from pathlib import Path

    from vidllm.eval.config import EvalConfig
    from vidllm.synthetic.tasks import PROMPTS

    repo = Path(__file__).resolve().parents[2]
    cfg = load_config(EvalConfig, repo / "eval_configs" / "synthetic.yaml")
    assert cfg.prompt == PROMPTS["mr"] and cfg.dataset == "synthetic"


def test_synthetic_training_needs_a_length():
    from vidllm.train.config import load_train_config

    with pytest.raises(ConfigError, match="set optim.max_steps"):
        load_train_config(None, ["data.synthetic.seed=1", "optim.max_steps=-1", "optim.epochs=1"])
    cfg = load_train_config(None, ["data.synthetic.num_samples=64", "optim.max_steps=-1"])
    assert cfg.data.synthetic.num_samples == 64


def test_suites_from_overrides():
    cfg = load_quickstart_config(None, ["scenes.fps=[1,2]", "scenes.duration=[8,24]", "fps=1.5", "test.fps=[0.5,4]",
                                        "test.durations=[4,48]", "test.combined=true", "seeds=[0,1,2]",
                                        "families=[qwen2_vl,qwen3_vl]"])  # fmt: skip
    names = [s.name for s in cfg.suites()]
    assert names[:5] == ["1.5fps_8-24s", "0.5fps_8-24s", "4fps_8-24s", "1.5fps_4s", "1.5fps_48s"]
    assert "4fps_48s" in names and len(names) == len(set(names)) == 9
    assert cfg.seed_list() == [0, 1, 2] and cfg.families == ["qwen2_vl", "qwen3_vl"]
    with pytest.raises(ConfigError, match="families"):
        load_quickstart_config(None, ["families=[qwen9]"])


def test_a_short_suite_shortens_its_events():
    from vidllm.quickstart.run import suite_scenes

    cfg = load_quickstart_config(None, ["test.fps=[]", "test.durations=[4]"])
    short = suite_scenes(cfg, cfg.suites()[1])
    assert short.duration == [4.0, 4.0] and short.event_length == [2.0, 4.0] and short.fps == []


def test_seed_mean_gives_mean_and_spread():
    from vidllm.quickstart.run import Row, Summary, seed_mean

    rows = [Row("a", "", {"R1@0.5": v, "mIoU": v}, suites={"s": {"R1@0.5": v, "mIoU": v / 2}}) for v in (10.0, 30.0)]
    row = seed_mean("f/a", rows)
    assert row.suites["s"] == {"R1@0.5": 20.0, "mIoU": 10.0} and row.spread["s"] == {"R1@0.5": 10.0, "mIoU": 5.0}
    table = Summary([row], None, 1, 1).suites_markdown()
    assert "20.0±10.0 / 10.0±5.0" in table


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_scratch_model_of_each_family_loads(tmp_path, family):
    from vidllm.models import ModelConfig, load_model
    from vidllm.quickstart.model import ScratchModelConfig, count_parameters, write_scratch_model

    folder = write_scratch_model(tmp_path / "m", ScratchModelConfig(), family=family)
    assert 0.5e6 < count_parameters(folder) < 1e6
    adapter = load_model(ModelConfig(family=family, path=str(folder), device="cpu", dtype="float32"))
    assert adapter.model.config.model_type == family


def test_rl_stage_settings_load_and_bad_ones_fail_in_one_line(tmp_path):
    from vidllm.quickstart.config import load_quickstart_config
    from vidllm.quickstart.run import RL_SEED_OFFSET, continuations

    path = tmp_path / "qs.yaml"
    path.write_text("rl:\n  enabled: true\n  steps: 30\n  rewards: {tiou: 1.0}\n  loss_type: grpo\n")
    cfg = load_quickstart_config(str(path), ["rl.lr=1e-4", "rl.sft_steps=60"])
    assert cfg.rl.enabled and cfg.rl.steps == 30 and cfg.rl.rewards == {"tiou": 1.0} and cfg.rl.more_sft
    assert load_quickstart_config(None, ["rl=true"]).rl.enabled
    assert not load_quickstart_config(None, []).rl.enabled
    (grpo_name, _, grpo), (sft_name, _, sft) = continuations(cfg, tmp_path / "init", tmp_path / "runs")
    assert (grpo_name, sft_name) == ("slots+grpo", "slots+sft")
    assert grpo.method == "grpo" and grpo.rl.loss_type == "grpo" and grpo.rl.beta == 0.0 and grpo.optim.max_steps == 30
    assert sft.method == "sft" and sft.optim.max_steps == 60 and sft.optim.lr == grpo.optim.lr == 1e-4
    assert grpo.data.synthetic.seed == sft.data.synthetic.seed == cfg.seed + RL_SEED_OFFSET
    assert continuations(load_quickstart_config(None, []), tmp_path, tmp_path) == []
    other = load_quickstart_config(None, ["rl.enabled=true", "rl.stream_seed=7"])
    assert continuations(other, tmp_path, tmp_path)[0][2].data.synthetic.seed == 7
    for bad, said in (("rl.batch_size=6", "multiple of rl.num_generations"), ("rl.num_generations=1", ">= 2"),
                      ("rl.loss_type=ppo", "loss_type"), ("rl.rewards={iou: 1}", "unknown components"),
                      ("rl.rewards={tiou: 1, f1: 1}", "score no question")):  # fmt: skip
        with pytest.raises(Exception, match=said) as info:
            load_quickstart_config(None, ["rl.enabled=true", bad])
        assert "\n" not in str(info.value)


def test_frame_text_variant_writes_frame_times_and_answers_in_whole_seconds():
    """The fix of frame_text staying at the prior (docs/quickstart.md): the frame times and the answers share whole
    seconds, so an answer copies a frame time's digits."""
    from vidllm.models.config import FRAME_TEXT_TEMPLATES
    from vidllm.quickstart.variants import get_variant
    from vidllm.time import get_scheme

    time = get_variant("frame_text").time
    scheme = get_scheme(time.scheme, **time.scheme_kwargs)
    assert time.frame_text and FRAME_TEXT_TEMPLATES[time.scheme].format(time=scheme.encode(6.3)) == "<6 seconds>"
    assert scheme.format_span(6.0, 10.0) == "6 - 10 seconds"
