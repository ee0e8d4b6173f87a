"""``vidllm demo`` / ``python gradio_demo.py``: the chat demo's command line.

python gradio_demo.py --model_path BASE [--lora_path ADAPTER] [--host 127.0.0.1] [--port 7860]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Callable

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The demo's flags."""
    p.add_argument("--model_path", required=True, help="base checkpoint folder (or a full vidllm save)")
    p.add_argument("--lora_path", default=None, help="adapter folder written by the training recipe")
    p.add_argument("--family", default="qwen2_5_vl", help="adapter family when the folders do not say it")
    p.add_argument("--device", default=None, help="auto, cpu, cuda[:n] (default: the model config's)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind; 0.0.0.0 exposes the demo to the network")
    p.add_argument("--port", type=int, default=7860, help="port to serve on")
    p.add_argument("--max_upload_mb", type=int, default=200, help="largest upload accepted")
    p.add_argument("--max_new_tokens", type=int, default=128, help="longest answer")
    p.add_argument("--no_examples", dest="examples", action="store_false", help="do not offer the example video")
    return p


def run_demo(args: argparse.Namespace) -> int:
    """Load the model, build the app and serve it until interrupted."""
    from vidllm.demo.app import DemoModel, build_app, launch
    from vidllm.demo.examples import write_example_video

    model = DemoModel.load(args.model_path, args.lora_path, family=args.family, device=args.device)
    logger.info("loaded %s", model.description)
    with tempfile.TemporaryDirectory(prefix="vidllm-demo-") as tmp:
        examples = [str(write_example_video(f"{tmp}/shapes.mp4"))] if args.examples else []
        app = build_app(model, examples=examples, max_upload_mb=args.max_upload_mb, max_new_tokens=args.max_new_tokens)
        launch(app, host=args.host, port=args.port)
    return 0


def add_subcommands(sub: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``demo`` to the ``vidllm`` parser's subcommands; returns its runner by name."""
    add_arguments(sub.add_parser("demo", help="chat with a video about when things happen (gradio, local)"))
    return {"demo": run_demo}


def main(argv: list[str] | None = None) -> int:
    """``python gradio_demo.py ...``."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = add_arguments(argparse.ArgumentParser(description="vidllm chat demo: ask a video when things happen"))
    return run_demo(parser.parse_args(argv))
