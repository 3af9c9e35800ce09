"""Code stage on Lambda: SQS (EncounterMessage) in, coded EncounterMessage to the scrub queue.

In-process by default (the coder loads once per warm container); ``MEDCODE_CODER=serve`` calls the
Serve API (``POST /v1/code`` at ``MEDCODE_SERVE_URL`` with ``MEDCODE_API_KEY``) instead.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

from handlers.aws._sqs_stage import SqsStage
from handlers.aws.events import EncounterRecord
from handlers.messages import EncounterMessage, step_code
from medcore.model import Encounter

_CODER: Any = None
FEES: dict[str, float] = json.loads(os.environ.get("MEDCODE_FEES_JSON", "{}") or "{}")


class HttpCoder:
    """The Serve API as a coder: one ``POST /v1/code`` per encounter (loopback or private network)."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout_s: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or os.environ.get("MEDCODE_API_KEY", "")
        self.timeout_s = timeout_s

    def code(self, enc: Encounter) -> Any:
        from serving.pipeline.coder import CodingResult

        body = {"note": enc.text, "format": "text", "encounter_id": enc.encounter_id,
                "date_of_service": enc.date_of_service.isoformat(), "setting": enc.setting.value,
                "patient": {"age": enc.patient.age_on(enc.date_of_service), "sex": enc.patient.sex.value}}
        req = urllib.request.Request(f"{self.base_url}/v1/code", data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json", "x-api-key": self.api_key})
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310 - configured URL
            return CodingResult.model_validate_json(resp.read())


def coder() -> Any:
    global _CODER
    if _CODER is None:
        if os.environ.get("MEDCODE_CODER", "local") == "serve":
            _CODER = HttpCoder(os.environ.get("MEDCODE_SERVE_URL", "http://127.0.0.1:8000"))
        else:
            from serving.pipeline.coder import Coder

            _CODER = Coder()
    return _CODER


def set_coder(c: Any) -> None:
    """Swap the coder (a warm container keeps it); used by local runs that already hold one."""
    global _CODER
    _CODER = c


def _step(message: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return step_code(EncounterMessage.model_validate(message), ctx, coder(), FEES).model_dump(mode="json")


STAGE = SqsStage("code", EncounterRecord, lambda m: m.encounter.encounter_id, _step, next_stage="scrub")
lambda_handler = STAGE.handler()
