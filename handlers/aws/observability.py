"""Logger (PHI-redacting), Tracer and Metrics for every Lambda adapter.

PHI never reaches a log line: :class:`PHIRedactingFormatter` (the powertools JSON formatter) masks
every key that names PHI, at any depth, and masks PHI-shaped text (HL7 ``LAST^FIRST`` names, dates
that could be birth dates, long free text) inside messages and values. :class:`PHIRedactingFilter`
does the same for plain ``logging`` handlers (the CLI's stderr).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

NAMESPACE = "medcode"
MASK = "***"
# keys whose values are PHI (compared lower-cased, with "-" as "_")
PHI_KEYS = frozenset({
    "note", "notes", "text", "note_text", "raw", "body", "name", "patient_name", "given", "family",
    "birth_date", "birthdate", "dob", "date_of_birth", "member_id", "memberid", "subscriber_id",
    "subscriberid", "mrn", "ssn", "address", "phone", "patient", "x12", "evidence",
})
_HL7_NAME = re.compile(r"\b[A-Z][A-Za-z'-]+\^[A-Z][A-Za-z'-]+(?:\^[A-Za-z'-]*)*")
_DATE = re.compile(r"\b(?:19|20)\d{2}-?(?:0[1-9]|1[0-2])-?(?:0[1-9]|[12]\d|3[01])\b")
_MEMBER = re.compile(r"\b(?=[A-Z0-9]{9,12}\b)(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]+\b")
MAX_TEXT = 200  # longer strings are note text by another name


def redact_text(value: str) -> str:
    if len(value) > MAX_TEXT:
        return f"{MASK}({len(value)} chars)"
    value = _HL7_NAME.sub(MASK, value)
    value = _DATE.sub(MASK, value)
    return _MEMBER.sub(MASK, value)


def redact(value: Any, key: str | None = None) -> Any:
    if key is not None and key.lower().replace("-", "_") in PHI_KEYS:
        return MASK
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


# the powertools keys that are ours to keep as they are
_SAFE = frozenset({"level", "location", "timestamp", "service", "cold_start", "function_name", "function_arn",
                   "function_request_id", "function_memory_size", "xray_trace_id", "sampling_rate", "exception_name"})


class PHIRedactingFormatter(LambdaPowertoolsFormatter):
    """The powertools JSON formatter, with every non-standard key and the message redacted."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        clean = {k: (v if k in _SAFE else redact(v, k)) for k, v in log.items()}
        return super().serialize(clean)


class PHIRedactingFilter(logging.Filter):
    """For plain logging handlers: redacts the message, its args and PHI-named extra attributes."""

    _STD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            message = str(record.msg)
        record.msg, record.args = redact_text(message), None
        for key in list(vars(record)):
            if key not in self._STD:
                setattr(record, key, redact(getattr(record, key), key))
        return True


def make_logger(stage: str) -> Logger:
    return Logger(service=f"medcode-{stage}", logger_formatter=PHIRedactingFormatter(),
                  level=os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))


def make_tracer(stage: str) -> Tracer:
    # POWERTOOLS_TRACE_DISABLED=1 locally (and in tests): no X-Ray daemon here
    return Tracer(service=f"medcode-{stage}")


def make_metrics(stage: str) -> Metrics:
    return Metrics(namespace=NAMESPACE, service=f"medcode-{stage}")
