"""The shape every SQS-driven stage shares: parse records, run the step once per (encounter, stage),
forward the result, and report the records that failed (``batchItemFailures``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import idempotent_function

from handlers.aws import runtime
from handlers.aws.observability import make_logger, make_metrics, make_tracer


class SqsStage:
    """One stage's adapter. ``step(message_dict, ctx) -> (encounter_id, output_dict | None)``."""

    def __init__(self, stage: str, record_model: type, encounter_id_of: Callable[[Any], str],
                 step: Callable[[dict[str, Any], Any], dict[str, Any] | None], next_stage: str | None):
        self.stage, self.next_stage = stage, next_stage
        self.logger = make_logger(stage)
        self.tracer = make_tracer(stage)
        self.metrics = make_metrics(stage)
        self.processor = BatchProcessor(event_type=EventType.SQS, model=record_model)
        self.config = runtime.idempotency_config()
        self.persistence = runtime.persistence_layer()  # one per idempotent function
        self._encounter_id_of = encounter_id_of
        self._step = step

        @idempotent_function(data_keyword_argument="key", persistence_store=self.persistence, config=self.config)
        def once(key: dict[str, str], message: dict[str, Any]) -> dict[str, Any]:
            ctx = runtime.stage_context(stage)
            out = self._step(message, ctx)
            runtime.commit_audit(ctx, key["encounter_id"], stage)
            return {"output": out}

        self._once = once

    def record_handler(self, record: Any) -> dict[str, Any] | None:
        message = record.body
        eid = self._encounter_id_of(message)
        result = self._once(key={"encounter_id": eid, "stage": self.stage}, message=message.model_dump(mode="json"))
        out = result["output"]
        if out is not None and self.next_stage:
            runtime.send_next(self.next_stage, json.dumps(out))
        self.metrics.add_metric(name=f"{self.stage.capitalize()}Processed", unit=MetricUnit.Count, value=1)
        self.logger.info("record processed", extra={"stage": self.stage, "message_id": record.messageId})
        return out

    def handler(self) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        @self.logger.inject_lambda_context
        @self.tracer.capture_lambda_handler
        @self.metrics.log_metrics
        def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            self.config.register_lambda_context(context)
            response = process_partial_response(event=event, record_handler=self.record_handler,
                                                processor=self.processor, context=context)
            failed = len(response.get("batchItemFailures", []))
            if failed:
                self.metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failed)
                self.logger.warning("records failed", extra={"failed": failed, "stage": self.stage})
            return response

        return lambda_handler
