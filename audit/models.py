"""pynamodb models of the audit table.

One table holds every chain. Its hash key is the shard (``"{tenant_id}#{YYYY-MM-DD}"``) and its
range key ``seq``: 0 is the shard's HEAD (latest seq and hash); every other item is a *block*, keyed
by the seq of its first entry, holding the entries of one append batch (layout in :mod:`audit.blocks`).

The table name comes from configuration, so the classes are built per table by
:func:`bind_models`; :class:`BlockItem` and :class:`HeadItem` carry the attributes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.models import Model

from .config import AuditConfig


class _ChainItem(Model):
    shard = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    # epoch seconds; DynamoDB may delete the item after it (never before six years, see entry.retain_until)
    ttl = TTLAttribute(null=True)


class BlockItem(_ChainItem):
    """Consecutive entries of one shard, from ``seq`` on: one line per entry (``audit.blocks``)."""

    entries = UnicodeAttribute()


class HeadItem(_ChainItem):
    """A shard's head (``seq == 0``): the last entry's seq and hash, moved only by transactions."""

    last_seq = NumberAttribute()
    last_hash = UnicodeAttribute()


@dataclass(frozen=True)
class BoundModels:
    """The model classes, a transaction connection and a low-level client for one table."""

    block: type[BlockItem]
    head: type[HeadItem]
    connection: Connection
    client: Any  # botocore DynamoDB client: reads raw items (Query, parallel Scan) without model decoding
    table_name: str


@lru_cache(maxsize=32)
def bind_models(config: AuditConfig) -> BoundModels:
    """Model classes whose ``Meta`` points at ``config``'s table, endpoint and region.

    Cached per configuration, so every :class:`~audit.chain.AuditLog` on one table shares the
    botocore clients pynamodb keeps on each class (and the low-level client, which is thread-safe).

    Parameters
    ----------
    config : AuditConfig

    Returns
    -------
    BoundModels
    """
    meta = {
        "table_name": config.table_name,
        "host": config.endpoint,
        "region": config.region,
        "billing_mode": "PAY_PER_REQUEST",
        **config.credentials(),
    }
    block = type("BlockItem", (BlockItem,), {"Meta": type("Meta", (), dict(meta))})
    head = type("HeadItem", (HeadItem,), {"Meta": type("Meta", (), dict(meta))})
    connection = Connection(region=config.region, host=config.endpoint, **config.credentials())
    client = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=config.endpoint,
        region_name=config.region,
        config=BotoConfig(max_pool_connections=max(10, config.verify_segments + 2)),
        **{k: v for k, v in config.credentials().items() if v},
    )
    return BoundModels(block=block, head=head, connection=connection, client=client, table_name=config.table_name)
