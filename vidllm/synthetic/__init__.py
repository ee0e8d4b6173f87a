"""vidllm.synthetic"""
