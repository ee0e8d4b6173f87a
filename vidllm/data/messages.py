"""Record -> chat messages: the seam between instruction data and a model adapter's processor.

A model adapter turns these messages into token ids, pixel values and label masks (its chat template decides the
special tokens; the assistant turns are the ones trained on). The messages follow the multimodal chat format of HF
processors (``processor.apply_chat_template``), e.g.::

    [{"role": "system", "content": [{"type": "text", "text": "..."}]},            # only if the record has one
     {"role": "user", "content": [{"type": "video", "video": "/data/charades/3MSZA.mp4"},
                                  {"type": "text", "text": "When does the man open the door?"}]},
     {"role": "assistant", "content": [{"type": "text", "text": "24.3 - 30.4 seconds, person turn a light on."}]}]

The answer is written here, from the targets, in the run's time scheme (:func:`vidllm.data.records.render_answer`);
earlier turns of a sharegpt conversation come first, the video is attached to the first user turn.
"""

from __future__ import annotations

from typing import Any

from vidllm.data.records import Record, render_answer
from vidllm.io import PathLike
from vidllm.time import TimeScheme


def _text(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}]


def to_messages(
    record: Record,
    scheme: TimeScheme,
    *,
    video_root: PathLike | None = None,
    with_answer: bool = True,
    video_options: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The chat messages of a record, answer written in ``scheme``.

    Args:
        record: The record.
        scheme: The time scheme of the run (answers of the same file differ per scheme).
        video_root: Joined to ``record.video`` for the video entry (``None``: the relative path as stored).
        with_answer: End with the assistant's answer (training); ``False`` ends with the question (generation).
        video_options: Extra keys of the video entry, e.g. ``{"fps": 1.0}`` or ``{"nframes": 96}`` as
            ``qwen_vl_utils`` reads them.

    Returns:
        A list of ``{"role", "content": [parts]}`` dicts.
    """
    video = {"type": "video", "video": str(record.video_path(video_root)), **(video_options or {})}
    messages: list[dict[str, Any]] = []
    if record.system:
        messages.append({"role": "system", "content": _text(record.system)})
    turns = [*record.history, (record.prompt, render_answer(record, scheme) if with_answer else None)]
    for k, (user, assistant) in enumerate(turns):
        content = ([video] if k == 0 else []) + _text(user)
        messages.append({"role": "user", "content": content})
        if assistant is not None:
            messages.append({"role": "assistant", "content": _text(assistant)})
    return messages
