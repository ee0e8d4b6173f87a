"""vidllm.video"""
