"""lmms-eval's charades_sta metric on answers given as JSON; run with lmms-eval's interpreter (test_lmms_eval.py).

    .venv-lmms/bin/python tests/integrations/lmms_charades_metric.py ANSWERS.json

``ANSWERS.json``: ``{name: [{"video", "caption", "timestamp": [start, end], "answer": text}, ...], ...}``. Prints
JSON ``{name: result}``: the four metrics as lmms-eval aggregates them, the docs it scored, and what its parser reads
from each answer.
"""

import json
import sys
from pathlib import Path

from lmms_eval.tasks.charades_sta import utils


def metric(docs: list[dict]) -> dict:
    results = [utils.temporal_grounding_process_results_generation(doc, [doc["answer"]]) for doc in docs]
    out = {
        name: getattr(utils, f"temporal_grounding_aggregate_{name.lower().replace('@', '')}")(
            [r[f"charades_sta_{name}"] for r in results], None
        )
        for name in ("IOU@3", "IOU@5", "IOU@7", "mIOU")
    }
    out["scored"] = len({key for r in results for key in r["charades_sta_IOU@3"]})
    out["parsed"] = [utils.extract_time(doc["answer"]) for doc in docs]
    return out


sets = json.loads(Path(sys.argv[1]).read_text())
sys.stdout.write(json.dumps({name: metric(docs) for name, docs in sets.items()}) + "\n")
