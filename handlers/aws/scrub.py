"""Scrub stage on Lambda: SQS (coded EncounterMessage) in, the message with findings to the claim queue."""

from __future__ import annotations

from typing import Any

from handlers.aws._sqs_stage import SqsStage
from handlers.aws.events import EncounterRecord
from handlers.messages import EncounterMessage, step_scrub


def _step(message: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return step_scrub(EncounterMessage.model_validate(message), ctx).model_dump(mode="json")


STAGE = SqsStage("scrub", EncounterRecord, lambda m: m.encounter.encounter_id, _step, next_stage="claim")
lambda_handler = STAGE.handler()
