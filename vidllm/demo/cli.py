"""``vidllm demo`` / ``python gradio_demo.py``: the chat demo's command line.

python gradio_demo.py --model_path BASE [--lora_path ADAPTER] [--host 127.0.0.1] [--port 7860]
"""

from __future__ import annotations

import argparse
import logging
import socket
import tempfile
from collections.abc import Callable

from vidllm.errors import UserError

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
    p.add_argument("--max_question_chars", type=int, default=2000, help="longest question accepted (characters)")
    p.add_argument("--max_history", type=int, default=20, help="chat messages kept; older ones leave the chat")
    p.add_argument(
        "--max_context_tokens",
        type=int,
        default=None,
        help="tokens prompt + answer may take (default: the model's context); older messages left out",
    )
    p.add_argument("--concurrency", type=int, default=1, help="questions answered at the same time")  # fmt: skip
    p.add_argument("--no_examples", dest="examples", action="store_false", help="do not offer the example video")
    return p


def check_port(host: str, port: int) -> None:
    """Refuse a port that is taken, before the model loads (minutes) rather than after.

    Raises:
        UserError: The port cannot be bound on ``host`` (the message suggests a free one).
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: a TIME_WAIT port is free
        try:
            s.bind((host, port))
        except OSError as e:
            with socket.socket() as free:
                free.bind((host if host != "0.0.0.0" else "127.0.0.1", 0))
                suggestion = free.getsockname()[1]
            raise UserError(
                f"--port {port} on {host} is not available ({e.strerror or e}); another server uses it. Pass a free "
                f"port, e.g. --port {suggestion}"
            ) from None


def run_demo(args: argparse.Namespace) -> int:
    """Check the port, load the model, build the app and serve it until interrupted."""
    from vidllm.demo.app import DemoModel, Limits, build_app, launch
    from vidllm.demo.examples import write_example_video

    check_port(args.host, args.port)
    if args.concurrency < 1:
        raise UserError(f"--concurrency must be >= 1, got {args.concurrency}")
    limits = Limits(args.max_question_chars, args.max_history, args.max_context_tokens)
    model = DemoModel.load(args.model_path, args.lora_path, family=args.family, device=args.device)
    logger.info("loaded %s", model.description)
    with tempfile.TemporaryDirectory(prefix="vidllm-demo-") as tmp:
        examples = [str(write_example_video(f"{tmp}/shapes.mp4"))] if args.examples else []
        app = build_app(model, examples=examples, max_upload_mb=args.max_upload_mb, max_new_tokens=args.max_new_tokens,
                        limits=limits, concurrency=args.concurrency)  # fmt: skip
        launch(app, host=args.host, port=args.port)
    return 0


def add_subcommands(sub: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``demo`` to the ``vidllm`` parser's subcommands; returns its runner by name."""
    add_arguments(sub.add_parser("demo", help="chat with a video about when things happen (gradio, local)"))
    return {"demo": run_demo}


def main(argv: list[str] | None = None) -> int:
    """``python gradio_demo.py ...``: a user's mistake (a taken port, a missing folder) prints one line."""
    from vidllm.errors import run_command

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = add_arguments(argparse.ArgumentParser(description="vidllm chat demo: ask a video when things happen"))
    args = parser.parse_args(argv)
    return run_command("gradio_demo.py", lambda: run_demo(args))
