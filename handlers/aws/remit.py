"""Remit stage on Lambda: SQS (RemitMessage) in; reads the claim's 277CA and 835 from the clearinghouse.

Nothing back yet raises :class:`RemitPending`: the record is reported as a batch item failure and
SQS redelivers it after its visibility timeout (a poll without a sleeping Lambda). A final state
(rejected, paid, denied...) is audited once.
"""

from __future__ import annotations

from typing import Any

from handlers.aws._sqs_stage import SqsStage
from handlers.aws.events import RemitRecord
from handlers.aws.submit import clearinghouse
from handlers.messages import RemitMessage
from medcore.model import AuditAction


class RemitPending(Exception):
    """No 277CA or 835 for the claim yet; try the message again later."""


def _step(message: dict[str, Any], ctx: Any) -> dict[str, Any] | None:
    msg = RemitMessage.model_validate(message)
    with clearinghouse() as client:
        acks = [a for d in client.fetch_acknowledgements(msg.submission_id) if d.kind == "277CA" for a in d.as_277()]
        status = {c.claim_id: c for a in acks for c in a.claims}.get(msg.claim_id)
        if status is None or status.accepted is None:
            raise RemitPending(msg.claim_id)
        if not status.accepted:
            outcome, paid = "rejected", None
        else:
            payments = {c.claim_id: c for d in client.fetch_remittance(submission_id=msg.submission_id)
                        for r in d.parse() for c in r.claims}
            payment = payments.get(msg.claim_id)
            if payment is None:
                raise RemitPending(msg.claim_id)
            paid = payment.paid
            outcome = str(getattr(payment.status, "value", payment.status))
    ctx.audit(AuditAction.update, "Claim", msg.claim_id, stage="remit", outcome=outcome)
    return {"encounter_id": msg.encounter_id, "claim_id": msg.claim_id, "outcome": outcome,
            "paid": None if paid is None else str(paid)}


STAGE = SqsStage("remit", RemitRecord, lambda m: m.encounter_id, _step, next_stage=None)
lambda_handler = STAGE.handler()
