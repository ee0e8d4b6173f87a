"""vidllm.train"""
