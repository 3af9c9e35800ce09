"""Claim stage on Lambda: SQS (scrubbed EncounterMessage) in, the 837P to S3, a ClaimMessage to submit.

The claim object is keyed by encounter id (``claims/<tenant>/<encounter id>.x12``), so a replay
overwrites it; the idempotency record makes a replay return the first result without rebuilding.
``MEDCODE_VALIDATE_837P=0`` skips the pyx12 check (about 0.7 s a claim).
"""

from __future__ import annotations

import os
from typing import Any

from handlers.aws import runtime
from handlers.aws._sqs_stage import SqsStage
from handlers.aws.events import EncounterRecord
from handlers.messages import EncounterMessage, step_claim
from medcore.errors import ClaimBuildError


def _step(message: dict[str, Any], ctx: Any) -> dict[str, Any]:
    msg = EncounterMessage.model_validate(message)
    if not (msg.encounter.diagnoses and msg.encounter.procedures):
        raise ClaimBuildError("diagnoses", "the encounter has no coded diagnosis or no service line")
    validate = os.environ.get("MEDCODE_VALIDATE_837P", "1") != "0"
    return step_claim(msg, ctx, runtime.S3ClaimWriter(), validate=validate).model_dump(mode="json")


STAGE = SqsStage("claim", EncounterRecord, lambda m: m.encounter.encounter_id, _step, next_stage="submit")
lambda_handler = STAGE.handler()
