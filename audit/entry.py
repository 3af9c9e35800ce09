"""The canonical form of one audit entry, its hash, its shard and its retention.

Both the writer (:mod:`audit.chain`) and the checker (:mod:`audit.verify`) use exactly these
functions, so a chain written by one version verifies under the same rules.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from medcore.model import AuditEvent

from .exceptions import PHIRejected

GENESIS_HASH = "0" * 64
HEAD_SEQ = 0
RETENTION_YEARS = 6  # HIPAA documentation retention, 45 CFR 164.316(b)(2)(i)

# The event fields the hash covers, in the order they are stored. ``shard`` and ``seq`` join them.
EVENT_FIELDS = (
    "tenant_id",
    "actor",
    "action",
    "resource_type",
    "resource_id",
    "purpose",
    "source",
    "at",
    "detail",
)

_MAX_VALUE_CHARS = 256  # longer than any identifier or code; shorter than a clinical note
_MAX_DETAIL_KEYS = 32
# words in a detail key that name PHI: allowed only when the value went through AuditEvent.pseudonymize.
# Whole words ("patient_name", "memberId"), so "stage" or "context" pass.
_PHI_WORDS = frozenset(
    {"note", "notes", "text", "name", "birth", "birthdate", "dob", "ssn", "member", "mrn"}
    | {"address", "phone", "email"}
)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_PSEUDONYM_PREFIX = "sha256:"


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """The stored, hashed fields of ``event``, after refusing anything that looks like PHI.

    Parameters
    ----------
    event : AuditEvent
        ``at`` may be naive, in which case it is taken as UTC.

    Returns
    -------
    dict
        ``EVENT_FIELDS`` as JSON-ready values; ``at`` as ISO-8601 UTC with microseconds.

    Raises
    ------
    PHIRejected
        A value is long enough to be note text, or a detail key names PHI without a pseudonym.
    """
    at = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)
    fields: dict[str, Any] = {
        "tenant_id": event.tenant_id,
        "actor": event.actor,
        "action": event.action.value,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "purpose": event.purpose,
        "source": event.source,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "detail": dict(event.detail),
    }
    _refuse_phi(fields)
    return fields


def _refuse_phi(fields: dict[str, Any]) -> None:
    for name in EVENT_FIELDS:
        if name == "detail":
            continue
        if len(fields[name]) > _MAX_VALUE_CHARS:
            raise PHIRejected(
                name, f"longer than {_MAX_VALUE_CHARS} characters; audit entries hold no note text"
            )
    detail = fields["detail"]
    if len(detail) > _MAX_DETAIL_KEYS:
        raise PHIRejected("detail", f"more than {_MAX_DETAIL_KEYS} keys")
    for key, value in detail.items():
        if len(key) > 64 or len(value) > _MAX_VALUE_CHARS:
            raise PHIRejected(f"detail.{key[:64]}", "too long; audit entries hold no note text")
        words = {w.lower() for w in _WORD.findall(key)}
        if words & _PHI_WORDS and not value.startswith(_PSEUDONYM_PREFIX):
            raise PHIRejected(f"detail.{key}", "names PHI; pass AuditEvent.pseudonymize(value) instead")


def shard_for(tenant_id: str, at_iso: str) -> str:
    """``"{tenant_id}#{YYYY-MM-DD}"``: one chain per tenant and UTC day."""
    return f"{tenant_id}#{at_iso[:10]}"


def shard_day(shard: str) -> date:
    """The UTC day of ``shard``; the tenant part may itself contain ``#``."""
    return date.fromisoformat(shard.rsplit("#", 1)[1])


def shard_tenant(shard: str) -> str:
    return shard.rsplit("#", 1)[0]


def retain_until(shard: str) -> datetime:
    """When DynamoDB may expire every item of ``shard``.

    The whole day's chain expires together (its head too), so TTL never leaves half a chain,
    and no earlier than six years after the last moment of the day.
    """
    day = shard_day(shard) + timedelta(days=1)
    try:
        later = day.replace(year=day.year + RETENTION_YEARS)
    except ValueError:  # 29 February
        later = day.replace(year=day.year + RETENTION_YEARS, month=3, day=1)
    return datetime.combine(later + timedelta(days=1), time(), tzinfo=UTC)


def canonical(fields: dict[str, Any], shard: str, seq: int) -> bytes:
    """Sorted-key compact JSON of the event fields plus ``shard`` and ``seq``, UTF-8 encoded."""
    body = {name: fields.get(name) for name in EVENT_FIELDS}
    body["shard"] = shard
    body["seq"] = seq
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def entry_hash(fields: dict[str, Any], shard: str, seq: int, prev_hash: str) -> str:
    """``SHA-256(canonical(entry) || prev_hash)`` as 64 hex digits."""
    return hashlib.sha256(canonical(fields, shard, seq) + str(prev_hash).encode()).hexdigest()
