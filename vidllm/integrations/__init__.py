"""Bridges from vidllm to other tools. Each bridge imports its tool only when used: ``import vidllm`` never does."""
