"""Usage metering: exactly once per request, in Comprehend Medical units.

One DynamoDB transaction per billable request: a conditional put of the idempotency record
(``attribute_not_exists``) plus atomic ADDs to the tenant's monthly and all-time counters. A retry
or a concurrent duplicate (same ``Idempotency-Key``, or the same request body when the client sends
none) fails the put, so the whole transaction is cancelled and nothing is counted twice. The monthly
counter's update carries the quota as its condition, so concurrent requests cannot overshoot it.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from botocore.exceptions import ClientError

from serving.api.config import ApiTables
from serving.api.dynamo import client, ensure_table

UNIT_CHARS = 100
IDEMPOTENCY_TTL_S = 24 * 3600


def units_for(chars: int) -> int:
    """Billing units of one note: 100 characters each, at least 1."""
    return max(1, math.ceil(chars / UNIT_CHARS))


def period_of(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m")


def seconds_to_next_period(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    nxt = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return max(1, math.ceil((nxt - now).total_seconds()))


class Outcome(StrEnum):
    counted = "counted"
    duplicate = "duplicate"  # already counted by an earlier delivery of the same request
    over_quota = "over_quota"


@dataclass(frozen=True)
class Usage:
    tenant_id: str
    period: str
    units: int
    notes: int
    requests: int
    total_units: int
    quota_units: int | None

    def as_dict(self) -> dict:
        return {
            "tenant_id": self.tenant_id, "period": self.period, "units": self.units, "notes": self.notes,
            "requests": self.requests, "total_units": self.total_units, "quota_units": self.quota_units,
            "unit_chars": UNIT_CHARS,
        }


class UsageMeter:
    """Counts billable units per tenant in DynamoDB.

    Parameters
    ----------
    table : str, optional
        Defaults to ``MEDCODE_API_USAGE_TABLE`` (``medcode-api-usage``).
    """

    def __init__(self, table: str | None = None, ddb=None, max_attempts: int = 20):
        self.table = table or ApiTables().api_usage_table
        self.ddb = ddb or client()
        self.max_attempts = max_attempts
        self._ready = False

    def ensure_table(self) -> None:
        if not self._ready:
            ensure_table(self.ddb, self.table, ttl_attribute="ttl")
            self._ready = True

    @staticmethod
    def idempotency_id(tenant_id: str, key: str) -> str:
        # the client's key is hashed: it is scoped to the tenant and never stored as sent
        return f"idem#{tenant_id}#" + hashlib.sha256(key.encode()).hexdigest()

    def record(
        self, tenant_id: str, idempotency_key: str, units: int, notes: int, quota_units: int | None = None,
        now: datetime | None = None,
    ) -> Outcome:
        """Count one request's units unless that request was counted before.

        Returns
        -------
        Outcome
            ``counted``, ``duplicate`` (nothing added) or ``over_quota`` (nothing added).
        """
        self.ensure_table()
        now = now or datetime.now(UTC)
        period = period_of(now)
        idem = self.idempotency_id(tenant_id, idempotency_key)
        values = {":u": {"N": str(units)}, ":n": {"N": str(notes)}, ":one": {"N": "1"}}
        period_update: dict = {
            "TableName": self.table,
            "Key": {"pk": {"S": f"usage#{tenant_id}#{period}"}},
            "UpdateExpression": "ADD units :u, notes :n, requests :one",
            "ExpressionAttributeValues": dict(values),
        }
        if quota_units is not None:
            period_update["ConditionExpression"] = "attribute_not_exists(units) OR units <= :room"
            period_update["ExpressionAttributeValues"][":room"] = {"N": str(quota_units - units)}
        items = [
            {"Put": {
                "TableName": self.table,
                "Item": {
                    "pk": {"S": idem}, "units": {"N": str(units)}, "period": {"S": period},
                    "at": {"S": now.isoformat(timespec="seconds")},
                    "ttl": {"N": str(int(now.timestamp()) + IDEMPOTENCY_TTL_S)},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }},
            {"Update": period_update},
            {"Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": f"usage#{tenant_id}#all"}},
                "UpdateExpression": "ADD units :u, notes :n, requests :one",
                "ExpressionAttributeValues": values,
            }},
        ]
        if quota_units is not None and units > quota_units:
            return Outcome.over_quota
        for attempt in range(1, self.max_attempts + 1):
            try:
                self.ddb.transact_write_items(TransactItems=items)
                return Outcome.counted
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                codes = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                if codes and codes[0] == "ConditionalCheckFailed":
                    return Outcome.duplicate
                if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                    return Outcome.over_quota
                if "TransactionConflict" not in codes:
                    raise
            # another transaction on the same items is in flight (often the duplicate itself)
            time.sleep(random.uniform(0, min(0.25, 0.005 * 2**attempt)))
        raise RuntimeError(f"usage counter for {tenant_id} stayed contended after {self.max_attempts} attempts")

    def usage(self, tenant_id: str, quota_units: int | None = None, now: datetime | None = None) -> Usage:
        self.ensure_table()
        period = period_of(now)
        got = self.ddb.batch_get_item(RequestItems={self.table: {
            "Keys": [{"pk": {"S": f"usage#{tenant_id}#{period}"}}, {"pk": {"S": f"usage#{tenant_id}#all"}}],
            "ConsistentRead": True,
        }})["Responses"].get(self.table, [])
        by = {i["pk"]["S"]: i for i in got}
        cur = by.get(f"usage#{tenant_id}#{period}", {})
        tot = by.get(f"usage#{tenant_id}#all", {})

        def n(item: dict, name: str) -> int:
            return int(item.get(name, {}).get("N", "0"))

        return Usage(tenant_id, period, n(cur, "units"), n(cur, "notes"), n(cur, "requests"), n(tot, "units"),
                     quota_units)
