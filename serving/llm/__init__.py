"""The self-hosted LLM stage (vLLM, output constrained to the candidate codes).

Not built yet: this package is reserved for it. The coder runs ranker-only until it exists.
"""
