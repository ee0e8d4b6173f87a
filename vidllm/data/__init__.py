"""vidllm.data"""
