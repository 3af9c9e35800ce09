"""Configuration of the LLM stage: ``MEDCODE_LLM_*`` settings, or the Serve config's ``args.llm``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medcore.settings import Settings, get_settings


class LlmConfig(BaseModel):
    """What the engine and the adjudicator need.

    ``model_path`` is a local Hugging Face model folder (``config.json``, weights, tokenizer); nothing is
    downloaded. ``device`` ``auto`` uses the GPU when torch sees one.
    """

    model_config = ConfigDict(extra="forbid")

    model_path: Path
    timeout_s: float = Field(default=30.0, gt=0, description="per note, all of its requests together")
    top_k: int = Field(default=8, ge=1, le=32, description="codes judged per note, by rank")
    max_model_len: int = Field(default=4096, ge=256, description="prompt + output tokens per request")
    device: Literal["auto", "cpu", "gpu"] = "auto"
    weight: float = Field(default=0.5, ge=0, le=1, description="the LLM's share of an accepted code's confidence")
    max_num_seqs: int = Field(default=32, ge=1, description="vLLM: sequences batched together")
    gpu_memory_utilization: float = Field(default=0.85, gt=0, le=1)
    # xgrammar 0.2.8 fails to compile the quote pattern above about 140 characters
    evidence_max_chars: int = Field(default=120, ge=16, le=128)
    seed: int = 0

    @classmethod
    def from_settings(cls, settings: Settings | None = None, model_path: str | Path | None = None) -> LlmConfig | None:
        """The configuration from ``MEDCODE_LLM_*``; None when no model path is configured."""
        s = settings or get_settings()
        path = model_path if model_path is not None else s.llm_model_path
        if path is None or str(path) == "":
            return None
        return cls(model_path=Path(path), timeout_s=s.llm_timeout_s, top_k=s.llm_top_k,
                   max_model_len=s.llm_max_model_len, device=s.llm_device, weight=s.llm_weight)
