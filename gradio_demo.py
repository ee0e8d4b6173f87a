"""The vidllm chat demo: ask a video *when* things happen and see the answer on its timeline.

    python gradio_demo.py --model_path BASE [--lora_path ADAPTER] [--host 127.0.0.1] [--port 7860]

Serves on http://127.0.0.1:7860 (no share link, gradio analytics off). Same as ``vidllm demo``.
"""

import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from vidllm.demo.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
