"""Submit stage on Lambda: SQS (ClaimMessage) in; released claims go to the clearinghouse, a
RemitMessage goes to the remit queue. Held claims (scrub errors) stay home for review.

The clearinghouse gets the encounter id as its idempotency key, so a replayed message never
submits a claim twice even past the powertools idempotency record's expiry.
"""

from __future__ import annotations

import os
from typing import Any

from claims.clearinghouse import ClearinghouseConfig, HttpClearinghouse
from handlers.aws import runtime
from handlers.aws._sqs_stage import SqsStage
from handlers.aws.events import ClaimRecord
from handlers.messages import ClaimMessage, RemitMessage
from medcore.model import AuditAction


def clearinghouse() -> HttpClearinghouse:
    return HttpClearinghouse(ClearinghouseConfig(base_url=os.environ["MEDCODE_CLEARINGHOUSE_URL"]))


def _read_claim(location: str) -> str:
    if location.startswith("s3://"):
        bucket, key = location[5:].split("/", 1)
        return runtime.s3_client().get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    with open(location, encoding="utf-8") as fh:
        return fh.read()


def _step(message: dict[str, Any], ctx: Any) -> dict[str, Any] | None:
    msg = ClaimMessage.model_validate(message)
    if msg.status != "built":
        ctx.audit(AuditAction.read, "Claim", msg.claim_id, stage="submit", outcome="held")
        return None
    with clearinghouse() as client:
        receipt = client.submit_x12(_read_claim(msg.location), idempotency_key=f"{msg.encounter_id}#submit")
    ctx.audit(AuditAction.submit, "Claim", msg.claim_id, encounter=msg.encounter_id, submission=receipt.submission_id)
    return RemitMessage(job=msg.job, encounter_id=msg.encounter_id, claim_id=msg.claim_id,
                        submission_id=receipt.submission_id).model_dump(mode="json")


STAGE = SqsStage("submit", ClaimRecord, lambda m: m.encounter_id, _step, next_stage="remit")
lambda_handler = STAGE.handler()
