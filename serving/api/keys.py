"""API keys: shown once, stored as a salted SHA-256, each bound to one tenant and one role.

A key reads ``mck_<key id>_<secret>``. The key id is the table's partition key, so a lookup is
one GetItem; the secret is never stored, only ``sha256(salt || secret)`` with a per-key salt,
compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from medcore.access import Principal, Role
from serving.api.config import ApiTables
from serving.api.dynamo import client, ensure_table

PREFIX = "mck"


@dataclass(frozen=True)
class KeyInfo:
    """A stored key, without its secret."""

    key_id: str
    tenant_id: str
    role: Role
    created_at: str
    revoked: bool = False
    label: str = ""

    def principal(self) -> Principal:
        return Principal(actor=f"apikey:{self.key_id}", tenant_id=self.tenant_id, role=self.role)


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class KeyStore:
    """Create, look up, list and revoke API keys in DynamoDB.

    Parameters
    ----------
    table : str, optional
        Defaults to ``MEDCODE_API_KEYS_TABLE`` (``medcode-api-keys``).
    cache_s : float
        Successful lookups are cached this long per process (a revoked key may keep working
        for up to this long on a replica that cached it).
    """

    def __init__(self, table: str | None = None, cache_s: float = 30.0, ddb=None):
        self.table = table or ApiTables().api_keys_table
        self.ddb = ddb or client()
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, str, KeyInfo | None]] = {}
        self._lock = threading.Lock()
        self._ready = False

    def ensure_table(self) -> None:
        if not self._ready:
            ensure_table(self.ddb, self.table)
            self._ready = True

    def create(self, tenant_id: str, role: Role | str, label: str = "") -> tuple[str, KeyInfo]:
        """A new key; the returned string is the only time the secret exists outside the caller."""
        role = Role(role)
        Principal(actor="apikey:new", tenant_id=tenant_id, role=role)  # validates the tenant
        self.ensure_table()
        key_id, secret, salt = secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_hex(16)
        info = KeyInfo(key_id, tenant_id, role, datetime.now(UTC).isoformat(timespec="seconds"), False, label)
        self.ddb.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": key_id}, "salt": {"S": salt}, "hash": {"S": _hash(salt, secret)},
                "tenant_id": {"S": tenant_id}, "role": {"S": role.value}, "created_at": {"S": info.created_at},
                "revoked": {"BOOL": False}, "label": {"S": label},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return f"{PREFIX}_{key_id}_{secret}", info

    @staticmethod
    def _info(item: dict) -> KeyInfo:
        return KeyInfo(
            key_id=item["pk"]["S"], tenant_id=item["tenant_id"]["S"], role=Role(item["role"]["S"]),
            created_at=item.get("created_at", {}).get("S", ""), revoked=item.get("revoked", {}).get("BOOL", False),
            label=item.get("label", {}).get("S", ""),
        )

    def verify(self, key: str | None) -> KeyInfo | None:
        """The key's record when the key is known, not revoked and its secret matches; else None."""
        if not key:
            return None
        parts = split_key(key)
        if parts is None:
            return None
        key_id, secret = parts
        now = time.monotonic()
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is not None and now - hit[0] < self.cache_s and hmac.compare_digest(hit[1], digest):
            return hit[2]
        self.ensure_table()
        item = self.ddb.get_item(TableName=self.table, Key={"pk": {"S": key_id}}, ConsistentRead=True).get("Item")
        info = None
        if item is not None and hmac.compare_digest(item["hash"]["S"], _hash(item["salt"]["S"], secret)):
            info = self._info(item)
            if info.revoked:
                info = None
        if info is not None:
            with self._lock:
                self._cache[key_id] = (now, digest, info)
        return info

    def list(self, tenant_id: str | None = None) -> list[KeyInfo]:
        self.ensure_table()
        out: list[KeyInfo] = []
        for page in self.ddb.get_paginator("scan").paginate(TableName=self.table):
            out.extend(self._info(i) for i in page["Items"])
        if tenant_id is not None:
            out = [k for k in out if k.tenant_id == tenant_id]
        return sorted(out, key=lambda k: (k.tenant_id, k.created_at, k.key_id))

    def revoke(self, key_id: str) -> bool:
        """Mark a key revoked; False when there is no such key."""
        self.ensure_table()
        from botocore.exceptions import ClientError

        try:
            self.ddb.update_item(
                TableName=self.table, Key={"pk": {"S": key_id}}, UpdateExpression="SET revoked = :t",
                ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":t": {"BOOL": True}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        with self._lock:
            self._cache.pop(key_id, None)
        return True
