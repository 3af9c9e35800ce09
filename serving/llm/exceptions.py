"""Typed errors of the LLM stage. None of them carries note text or model output."""

from __future__ import annotations

from medcore.errors import MedcodeError


class LlmError(MedcodeError):
    """Base class: the LLM stage could not produce a usable answer (the caller falls back)."""

    status = "error"


class ModelPathError(LlmError):
    """``model_path`` is missing, not a folder, or holds no Hugging Face ``config.json``."""


class EngineUnavailable(LlmError):
    """vLLM is not installed here, or the engine failed to start or died."""


class LlmTimeout(LlmError):
    """The requests did not finish within the configured timeout (they were aborted)."""

    status = "timeout"


class InvalidOutput(LlmError):
    """The model's answer did not parse or did not validate against the candidate set."""

    status = "invalid_output"
