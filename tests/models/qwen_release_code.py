"""The Qwen-VL code of the transformers releases each model shipped with, read from the release wheels at test time.

``scripts/setup.sh`` downloads the wheels (``pip download --no-deps transformers==4.49.0`` / ``4.57.1``) into
``$VIDLLM_REFERENCE_WHEELS`` (default ``~/.cache/vidllm/reference-wheels``). Nothing of them is installed or copied
into this repository: a function is compiled from the wheel's own source file, and tests that need a missing wheel
skip, saying how to get it.

* Qwen2-VL and Qwen2.5-VL: transformers 4.49.0 (the release that added Qwen2.5-VL; its Qwen2-VL code is the one
  Qwen2-VL was published with, modulo refactors that keep the position rule).
* Qwen3-VL: transformers 4.57.1 (the processor published with Qwen3-VL).
"""

from __future__ import annotations

import ast
import os
import re
import sys
import textwrap
import types
import typing
import zipfile
from pathlib import Path

import pytest

WHEELS = Path(os.environ.get("VIDLLM_REFERENCE_WHEELS", Path.home() / ".cache" / "vidllm" / "reference-wheels"))
RELEASE = {"qwen2_vl": "4.49.0", "qwen2_5_vl": "4.49.0", "qwen3_vl": "4.57.1"}
MODELING = {
    "qwen2_vl": ("models/qwen2_vl/modeling_qwen2_vl.py", "Qwen2VLForConditionalGeneration"),
    "qwen2_5_vl": ("models/qwen2_5_vl/modeling_qwen2_5_vl.py", "Qwen2_5_VLForConditionalGeneration"),
    "qwen3_vl": ("models/qwen3_vl/modeling_qwen3_vl.py", "Qwen3VLModel"),
}


def wheel(version: str) -> Path:
    """The release wheel, or a skip that says how to get it."""
    path = WHEELS / f"transformers-{version}-py3-none-any.whl"
    if not path.is_file():
        pytest.skip(
            f"reference wheel {path.name} not found in {WHEELS}: run scripts/setup.sh (or pip download --no-deps "
            f"transformers=={version} -d {WHEELS}); set VIDLLM_REFERENCE_WHEELS to use another folder"
        )
    return path


def source(version: str, member: str) -> str:
    """The text of ``transformers/<member>`` in the release wheel."""
    with zipfile.ZipFile(wheel(version)) as z:
        return z.read(f"transformers/{member}").decode()


def method(version: str, member: str, class_name: str, name: str):
    """A method of a class of the release's source, compiled on its own (its module's other imports are not run).

    Its globals are ``torch``, ``numpy as np`` and the ``typing`` names; the function takes ``self`` first.
    """
    import numpy as np
    import torch

    text = source(version, member)
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == name:
                    code = textwrap.dedent(ast.get_source_segment(text, item))
                    scope = {"torch": torch, "np": np, **{n: getattr(typing, n) for n in typing.__all__}}
                    exec(compile(code, f"transformers-{version}/{member}", "exec", dont_inherit=True), scope)
                    return scope[name]
    raise LookupError(f"{class_name}.{name} not found in transformers {version}'s {member}")


def rope_index(family: str):
    """The release's ``get_rope_index`` of ``family`` (call it with an object whose ``config`` is the model's)."""
    member, class_name = MODELING[family]
    return method(RELEASE[family], member, class_name, "get_rope_index")


def module(version: str, member: str) -> types.ModuleType:
    """A whole source file of the release run against the installed transformers (relative imports made absolute);
    for files whose imports still exist there (processors)."""
    text = re.sub(r"from \.\.\.([\w.]+) import", r"from transformers.\1 import", source(version, member))
    name = f"reference_transformers_{version.replace('.', '_')}_{Path(member).stem}"
    if name in sys.modules:
        return sys.modules[name]
    mod = types.ModuleType(name)
    sys.modules[name] = mod  # typing.get_type_hints resolves the module's annotations through sys.modules
    exec(compile(text, f"transformers-{version}/{member}", "exec", dont_inherit=True), mod.__dict__)
    return mod
