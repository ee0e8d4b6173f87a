"""vidllm.demo"""
