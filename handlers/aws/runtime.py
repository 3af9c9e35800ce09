"""What every Lambda adapter shares: settings from the environment, AWS clients (local endpoints when
configured), the idempotency table, the audit context and the stage queues.

Environment (besides ``MEDCODE_*`` settings):
``MEDCODE_IDEMPOTENCY_TABLE`` (default ``medcode-idempotency``), ``MEDCODE_CLAIMS_BUCKET``
(``medcode-claims``), ``MEDCODE_QUEUE_PREFIX`` (``medcode``; stage queues are ``<prefix>-<stage>``),
``MEDCODE_CLEARINGHOUSE_URL``, ``MEDCODE_CODER`` (``local`` or ``serve``), ``MEDCODE_SERVE_URL``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from botocore.exceptions import ClientError

from handlers.context import StageContext
from handlers.once import AuditOnce
from medcore.model import Claim
from medcore.settings import get_settings


def _kwargs(endpoint: str | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"region_name": get_settings().aws_region}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs |= {"aws_access_key_id": "medcodelocal", "aws_secret_access_key": "medcodelocal"}
    return kwargs


def dynamodb_client():
    return boto3.client("dynamodb", **_kwargs(get_settings().dynamodb_endpoint))


def sqs_client():
    return boto3.client("sqs", **_kwargs(get_settings().moto_endpoint))


def s3_client():
    return boto3.client("s3", **_kwargs(get_settings().moto_endpoint))


def idempotency_table() -> str:
    return os.environ.get("MEDCODE_IDEMPOTENCY_TABLE", "medcode-idempotency")


def ensure_idempotency_table(name: str | None = None) -> str:
    """Create the powertools idempotency table (``id`` hash key, TTL on ``expiration``) if missing."""
    name = name or idempotency_table()
    ddb = dynamodb_client()
    try:
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})
    return name


def persistence_layer() -> DynamoDBPersistenceLayer:
    """A new persistence layer: call once per idempotent function (powertools keeps per-function state)."""
    return DynamoDBPersistenceLayer(table_name=idempotency_table(), boto3_client=dynamodb_client())


def idempotency_config() -> IdempotencyConfig:
    # the key is the message's encounter id + stage; the rest of the payload does not count
    return IdempotencyConfig(event_key_jmespath="[encounter_id, stage]", raise_on_no_idempotency_key=True,
                             expires_after_seconds=7 * 24 * 3600)


@lru_cache(maxsize=1)
def audit_log():
    from audit import AuditConfig, AuditLog

    log = AuditLog(AuditConfig.from_settings())
    log.ensure_table()
    return log


@lru_cache(maxsize=1)
def audit_once() -> AuditOnce:
    return AuditOnce(settings=get_settings())


def stage_context(stage: str, request_id: str = "") -> StageContext:
    ctx = StageContext(source=f"lambda:{stage}", actor=f"lambda:medcode-{stage}")
    if os.environ.get("MEDCODE_AUDIT", "1") != "0":
        ctx.audit_sink = audit_log()
    return ctx


def commit_audit(ctx: StageContext, encounter_id: str, stage: str) -> None:
    """Commit the stage's buffered audit events exactly once for (encounter, stage)."""
    events, ctx.pending = ctx.pending, []
    if ctx.audit_sink is None:
        return
    audit_once().commit(f"{encounter_id}#{stage}", events, ctx.audit_sink)


def queue_url(stage: str) -> str:
    env = os.environ.get(f"MEDCODE_QUEUE_{stage.upper()}_URL")
    if env:
        return env
    prefix = os.environ.get("MEDCODE_QUEUE_PREFIX", "medcode")
    return sqs_client().get_queue_url(QueueName=f"{prefix}-{stage}")["QueueUrl"]


def send_next(stage: str, body: str) -> None:
    sqs_client().send_message(QueueUrl=queue_url(stage), MessageBody=body)


def claims_bucket() -> str:
    return os.environ.get("MEDCODE_CLAIMS_BUCKET", "medcode-claims")


class S3ClaimWriter:
    """``s3://<bucket>/claims/<tenant>/<encounter id>.x12``: a replay overwrites the same object."""

    def __init__(self, bucket: str | None = None, client: Any = None):
        self.bucket = bucket or claims_bucket()
        self.client = client or s3_client()

    def write(self, claim: Claim) -> str:
        key = f"claims/{claim.tenant_id}/{claim.encounter_id}.x12"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=(claim.x12 or "").encode(),
                               ServerSideEncryption="AES256",
                               Metadata={"claim-id": claim.claim_id, "status": claim.status.value})
        return f"s3://{self.bucket}/{key}"
