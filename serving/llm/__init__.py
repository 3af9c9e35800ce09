"""The LLM stage on vLLM: constrained code adjudication and appeal drafting (docs/LLM.md).

vLLM is imported only when an engine is built, so importing this package is cheap and works where
vLLM is not installed (every result then says ``llm.status: error`` or ``not_configured``).
"""

from serving.llm.adjudicate import Adjudicator, LlmStage, apply_judgement, judgement_request, local_stage
from serving.llm.appeal import AppealDrafter, LlmAppealWriter
from serving.llm.config import LlmConfig
from serving.llm.engine import Generation, GenerationRequest, VllmEngine, vllm_available
from serving.llm.exceptions import EngineUnavailable, InvalidOutput, LlmError, LlmTimeout, ModelPathError
from serving.llm.local import LocalLlm
from serving.llm.prompts import Prompt, load_prompt

__all__ = [
    "Adjudicator",
    "AppealDrafter",
    "EngineUnavailable",
    "Generation",
    "GenerationRequest",
    "InvalidOutput",
    "LlmAppealWriter",
    "LlmConfig",
    "LlmError",
    "LlmStage",
    "LlmTimeout",
    "LocalLlm",
    "ModelPathError",
    "Prompt",
    "VllmEngine",
    "apply_judgement",
    "judgement_request",
    "load_prompt",
    "local_stage",
    "vllm_available",
]
