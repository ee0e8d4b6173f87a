"""vidllm: teach video LLMs *when* things happen.

Data flows one way: video -> frames + timestamps -> prompt (time language) -> model -> text -> parser -> scores.
Inside the package time is always seconds as ``float``; only :mod:`vidllm.time` turns seconds into text or tokens
and back.
"""

__version__ = "0.1.0"
