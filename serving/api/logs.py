"""Request ids in every response and every log line; nothing but ids, sizes and timings logged."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import uuid

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("medcode_request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LOGGER = "medcode.api"


def new_request_id(sent: str | None) -> str:
    """The client's ``x-request-id`` when it is a plain token, else a fresh one."""
    return sent if sent and _SAFE_ID.match(sent) else uuid.uuid4().hex


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class _KeyValues(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extra = getattr(record, "fields", None)
        if extra:
            base += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        return base


def api_logger() -> logging.Logger:
    log = logging.getLogger(LOGGER)
    if not any(isinstance(f, _RequestIdFilter) for f in log.filters):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_KeyValues("%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"))
        handler.addFilter(_RequestIdFilter())
        log.addHandler(handler)
        log.addFilter(_RequestIdFilter())
        log.setLevel(logging.INFO)
        log.propagate = False
    return log
