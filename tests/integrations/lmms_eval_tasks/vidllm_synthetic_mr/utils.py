"""Document functions of the local ``vidllm_synthetic_mr`` lmms-eval task (see its YAML)."""

import os


def doc_to_visual(doc):
    """The doc's video (an absolute path written by the test)."""
    if not os.path.isfile(doc["video"]):
        raise FileNotFoundError(f"{doc['video']}: no such video; tests/integrations/test_lmms_eval.py writes it")
    return [doc["video"]]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    """The question, as vidllm's moment-retrieval prompts ask it."""
    return f"When does {doc['caption']} happen in the video? Answer with the start and end time in seconds."


def doc_to_target(doc):
    """The ground-truth interval ``[start, end]`` in seconds."""
    return doc["timestamp"]
