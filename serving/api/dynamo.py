"""A boto3 DynamoDB client for the API's tables, and create-on-demand."""

from __future__ import annotations

import os
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from medcore.settings import Settings, get_settings


def client(settings: Settings | None = None):
    """A low-level client; dummy keys only for a local endpoint and only when the environment has none."""
    s = settings or get_settings()
    kwargs: dict = {"region_name": s.aws_region, "config": Config(retries={"max_attempts": 5, "mode": "standard"},
                                                                 max_pool_connections=32)}
    if s.dynamodb_endpoint:
        kwargs["endpoint_url"] = s.dynamodb_endpoint
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs |= {"aws_access_key_id": "medcodelocal", "aws_secret_access_key": "medcodelocal"}
    return boto3.client("dynamodb", **kwargs)


def ensure_table(ddb, name: str, ttl_attribute: str | None = None) -> None:
    """Create a table keyed by the string ``pk`` (on-demand billing) unless it exists."""
    try:
        ddb.describe_table(TableName=name)
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    try:
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    for _ in range(100):
        if ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    if ttl_attribute:
        try:
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
            )
        except ClientError:
            pass  # already enabled, or the local stand-in does not care
