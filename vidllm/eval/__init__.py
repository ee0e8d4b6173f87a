"""vidllm.eval"""
