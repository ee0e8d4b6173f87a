import numpy as np

from vidllm.demo.timeline import parse_answer, thumbnails, timeline_html


def test_parse_answer_reads_intervals_captions_and_highlights():
    steps = parse_answer("List the steps", "0 - 4.5 seconds, open the box. 5 - 9 seconds, close it.", duration=10.0)
    assert steps.events == [(0.0, 4.5, "open the box."), (5.0, 9.0, "close it.")]
    assert not steps.points
    moment = parse_answer("When?", "From 2 to 30 seconds.", duration=10.0)
    assert moment.events == [(2.0, 10.0, "")]  # clipped to the video
    hl = parse_answer(
        "What are the highlights?", "4 seconds, saliency score: 3.0. 8 seconds, saliency score: 1.5.", duration=10.0
    )
    assert hl.points == [(4.0, 3.0), (8.0, 1.5)]
    assert parse_answer("When?", "no idea", duration=10.0).events == []


def test_timeline_html_has_clickable_intervals_and_a_saliency_curve():
    html = timeline_html([(2.0, 4.0, "a <b>")], duration=10.0)
    assert 'data-t="2.000"' in html and "a &lt;b&gt;" in html and "<polyline" not in html
    curve = timeline_html([], duration=10.0, points=[(4.0, 3.0), (8.0, 1.0)])
    assert "<polyline" in curve and 'data-t="4.000"' in curve
    assert "No times found" in timeline_html([], duration=10.0)
    assert "No video" in timeline_html([], duration=0.0)


def test_thumbnails_pick_the_frame_on_screen():
    frames = np.arange(4, dtype=np.uint8)[:, None, None, None] * np.ones((4, 2, 2, 3), np.uint8)
    times = np.array([0.0, 1.0, 2.0, 3.0])
    out = thumbnails(frames, times, [0.5, 2.0, 99.0], ["a", "b"])
    assert [int(img[0, 0, 0]) for img, _ in out] == [0, 2, 3]
    assert out[0][1] == "0.5s a" and out[2][1] == "99.0s"
    assert thumbnails(frames[:0], times[:0], [1.0]) == []
