from vidllm.time import parse_highlights, saliency_per_clip


def test_timechat_style():
    text = "There are 3 highlight moments in the 82, 84, 86 seconds. Their saliency scores are 1.3, 1.7, 2.3"
    assert parse_highlights(text) == [(82.0, 1.3), (84.0, 1.7), (86.0, 2.3)]


def test_vtgllm_style_with_tokens():
    text = (
        "<TIME_ZERO><TIME_ZERO><TIME_ZERO><TIME_FOUR><TIME_DOT><TIME_ZERO> seconds, significance score: 2.3, a dog. "
        "0006.0 seconds, significance score: 1.7, a dog."
    )
    assert parse_highlights(text) == [(4.0, 2.3), (6.0, 1.7)]


def test_numpro_frames_need_fps():
    text = "The highlight frames are in the 41, 42 frames. Their saliency scores are 1.0, 2.0"
    assert parse_highlights(text) == []
    assert parse_highlights(text, fps=0.5) == [(82.0, 1.0), (84.0, 2.0)]


def test_missing_scores_default_to_one_and_duration_drops():
    assert parse_highlights("The highlights are at 2, 4 and 100 seconds.", duration=50) == [(2.0, 1.0), (4.0, 1.0)]
    assert parse_highlights("no highlights") == []


def test_per_clip_grid():
    scores = saliency_per_clip([(0.0, 1.0), (1.9, 3.0), (2.0, 2.0), (9.9, 4.0), (10.0, 5.0)], 5)
    assert scores == [3.0, 2.0, 0.0, 0.0, 4.0]
    assert saliency_per_clip([(3.0, 1.0)], 3, clip_length=1.0) == [0.0, 0.0, 0.0]


def test_vtgllm_style_with_frame_numbers():
    assert parse_highlights("Frame 41, significance score: 2.0, a dog.", fps=0.5) == [(82.0, 2.0)]
    assert parse_highlights("Frame 41, significance score: 2.0, a dog.") == []
