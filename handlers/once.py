"""Exactly-once audit appends for at-least-once delivery: :class:`AuditOnce`.

Queues redeliver, Lambdas retry and runners get killed, so a stage may run twice for the same
encounter. Its *outputs* are made idempotent by naming them by encounter id (a claim file or S3 object
is overwritten with the same claim). Its audit events are not: appending them twice would put two
"create Claim" entries in the chain. So a stage's buffered events are committed through a small
ledger in DynamoDB, one item per ``<encounter id>#<stage>`` key:

1. conditional put ``{key, state: pending, lease}`` (it must not exist); a ``done`` item means the
   events are already in the chain: drop them;
2. append the events, each tagged ``detail.once = key``, in one chain transaction (≤ 99 events of one
   shard are atomic);
3. update the item to ``done``.

A crash between 1 and 3 leaves ``pending``. Whoever finds a pending item whose lease ran out resolves
the doubt by looking for the tag in the chain (one query of that day's shard, only in this rare case):
found means step 2 committed, so it only marks ``done``; not found means it appends. Appends are never
repeated and never lost.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from medcore.model import AuditEvent
from medcore.settings import Settings, get_settings

log = logging.getLogger(__name__)

ONCE_TAG = "once"


class StageInProgress(Exception):
    """Another worker holds a live lease on this (encounter, stage); retry the message later."""


@dataclass(frozen=True)
class CommitResult:
    key: str
    appended: int
    state: str  # "appended", "duplicate" (already done), "recovered" (in-doubt, found in the chain)


def _client(settings: Settings):
    kwargs: dict[str, Any] = {"region_name": settings.aws_region}
    if settings.dynamodb_endpoint:
        kwargs["endpoint_url"] = settings.dynamodb_endpoint
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs |= {"aws_access_key_id": "medcodelocal", "aws_secret_access_key": "medcodelocal"}
    return boto3.client("dynamodb", **kwargs)


class AuditOnce:
    """The ledger: ``commit(key, events, log)`` appends ``events`` to ``log`` at most, and at least, once.

    Parameters
    ----------
    table_name : str
        The ledger table (``<audit table>-once`` by default), created on first use.
    lease_s : float
        How long a ``pending`` item protects a worker still running; after it, the item is in doubt.
    """

    def __init__(self, table_name: str | None = None, settings: Settings | None = None, lease_s: float = 60.0):
        self.settings = settings or get_settings()
        self.table_name = table_name or f"{self.settings.audit_table}-once"
        self.lease_s = lease_s
        self._ddb = _client(self.settings)
        self._ready = False

    def ensure_table(self) -> None:
        if self._ready:
            return
        try:
            self._ddb.create_table(
                TableName=self.table_name, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
        self._ddb.get_waiter("table_exists").wait(TableName=self.table_name, WaiterConfig={"Delay": 0.2})
        self._ready = True

    def delete_table(self) -> None:
        try:
            self._ddb.delete_table(TableName=self.table_name)
        except ClientError:
            pass
        self._ready = False

    def state(self, key: str) -> str | None:
        item = self._ddb.get_item(TableName=self.table_name, Key={"key": {"S": key}}, ConsistentRead=True).get("Item")
        return item["state"]["S"] if item else None

    def commit(self, key: str, events: list[AuditEvent], sink: Any) -> CommitResult:
        """Append ``events`` (tagged with ``key``) to ``sink`` unless they are already in it.

        Raises
        ------
        StageInProgress
            A live lease is held by another worker.
        """
        self.ensure_table()
        tagged = [e.model_copy(update={"detail": {**e.detail, ONCE_TAG: key}}) for e in events]
        token = uuid.uuid4().hex
        now = time.time()
        try:
            self._ddb.put_item(
                TableName=self.table_name,
                Item={"key": {"S": key}, "state": {"S": "pending"}, "token": {"S": token},
                      "lease": {"N": str(now + self.lease_s)}, "day": {"S": _day(tagged)}},
                ConditionExpression="attribute_not_exists(#k)", ExpressionAttributeNames={"#k": "key"},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return self._resolve(key, tagged, sink, token)
        if tagged and sink is not None:
            sink.append_many(tagged)
        self._done(key)
        return CommitResult(key, len(tagged), "appended")

    def _resolve(self, key: str, tagged: list[AuditEvent], sink: Any, token: str) -> CommitResult:
        item = self._ddb.get_item(TableName=self.table_name, Key={"key": {"S": key}}, ConsistentRead=True)["Item"]
        if item["state"]["S"] == "done":
            return CommitResult(key, 0, "duplicate")
        if float(item["lease"]["N"]) > time.time():
            raise StageInProgress(key)
        # the lease ran out: take it over (only one taker wins), then settle the doubt from the chain
        try:
            self._ddb.update_item(
                TableName=self.table_name, Key={"key": {"S": key}},
                UpdateExpression="SET #t = :new, lease = :lease",
                ConditionExpression="#t = :old AND #s = :pending",
                ExpressionAttributeNames={"#t": "token", "#s": "state"},
                ExpressionAttributeValues={":new": {"S": token}, ":old": item["token"],
                                           ":pending": {"S": "pending"},
                                           ":lease": {"N": str(time.time() + self.lease_s)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StageInProgress(key) from None
            raise
        day = item.get("day", {}).get("S")
        if sink is not None and _in_chain(sink, key, tagged, day):
            self._done(key)
            return CommitResult(key, 0, "recovered")
        if tagged and sink is not None:
            sink.append_many(tagged)
        self._done(key)
        return CommitResult(key, len(tagged), "appended")

    def _done(self, key: str) -> None:
        self._ddb.update_item(
            TableName=self.table_name, Key={"key": {"S": key}}, UpdateExpression="SET #s = :done",
            ExpressionAttributeNames={"#s": "state"}, ExpressionAttributeValues={":done": {"S": "done"}},
        )


def _day(events: list[AuditEvent]) -> str:
    return (events[0].at if events else datetime.now(UTC)).astimezone(UTC).date().isoformat()


def _in_chain(sink: Any, key: str, tagged: list[AuditEvent], day: str | None) -> bool:
    """Whether an event tagged ``key`` is in the sink's chain (the shard of the recorded day, and the next)."""
    finder = getattr(sink, "has_tag", None)
    if finder is not None:  # an in-memory sink (tests, the embedded default) answers directly
        return bool(finder(ONCE_TAG, key))
    from medcore.access import Principal, Role

    tenant = tagged[0].tenant_id if tagged else "default"
    start = datetime.fromisoformat(day).date() if day else datetime.now(UTC).date()
    principal = Principal(actor="system:audit-once", tenant_id=tenant, role=Role.admin)
    for record in sink.read(principal, tenant, since=start, until=start + timedelta(days=1)):
        if record.event.detail.get(ONCE_TAG) == key:
            return True
    return False
