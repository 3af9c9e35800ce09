"""One in-process engine with the adjudication stage and the appeal drafter on it (CLI, eval, scripts).

``medcode serve`` does not use this: there the engine lives in the ``LLM`` Serve deployment.
"""

from __future__ import annotations

from collections.abc import Sequence

from serving.llm.adjudicate import Adjudicator, LlmStage
from serving.llm.appeal import AppealDrafter, LlmAppealWriter
from serving.llm.config import LlmConfig
from serving.llm.exceptions import LlmError


class LocalLlm:
    """Builds the engine once; never raises for a missing or broken model (see :attr:`error`).

    Parameters
    ----------
    config : LlmConfig or None
        None: not configured; every result says so.
    """

    def __init__(self, config: LlmConfig | None):
        self.config, self.engine, self.error = config, None, None
        if config is None:
            return
        from serving.llm.engine import VllmEngine

        try:
            self.engine = VllmEngine(config)
        except LlmError as exc:
            self.error = str(exc)

    @property
    def model(self) -> str | None:
        return self.config.model_path.name if self.config is not None else None

    def stage(self) -> LlmStage:
        if self.config is None:
            return LlmStage(None)
        if self.engine is None:
            return LlmStage(None, model=self.model, status="error", reason=self.error)
        adj = Adjudicator(self.engine, self.config)
        return LlmStage(adj.judge, model=self.engine.model, timeout_s=self.config.timeout_s,
                        top_k=self.config.top_k, weight=self.config.weight)

    def appeal_writer(self, notes: Sequence[str]) -> LlmAppealWriter:
        if self.engine is None:
            writer = LlmAppealWriter(None, notes, model=self.model)
            if self.config is not None:  # configured but broken: the letter is the template's, and says why
                writer.draft = _failing(self.error or "engine not running")
            return writer
        return LlmAppealWriter(AppealDrafter(self.engine, self.config).draft, notes, model=self.engine.model)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.shutdown()
            self.engine = None

    def __enter__(self) -> LocalLlm:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _failing(reason: str):
    from serving.llm.exceptions import EngineUnavailable

    def draft(payload: dict) -> dict:
        raise EngineUnavailable(reason)

    return draft
