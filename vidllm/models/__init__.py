"""vidllm.models"""
