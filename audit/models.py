"""pynamodb models of the audit table.

One table holds every chain. Its hash key is the shard (``"{tenant_id}#{YYYY-MM-DD}"``) and its
range key ``seq``: 0 is the shard's HEAD (latest seq and hash), 1..n are its events.

The table name comes from configuration, so the classes are built per table by
:func:`bind_models`; :class:`EventItem` and :class:`HeadItem` carry the attributes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.models import Model

from .config import AuditConfig


class _ChainItem(Model):
    shard = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    # epoch seconds; DynamoDB may delete the item after it (never before six years, see entry.retain_until)
    ttl = TTLAttribute(null=True)


class EventItem(_ChainItem):
    """One audit event: the canonical event fields, its link to the previous entry and its hash."""

    tenant_id = UnicodeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    resource_type = UnicodeAttribute()
    resource_id = UnicodeAttribute()
    purpose = UnicodeAttribute()
    source = UnicodeAttribute()
    # the ISO-8601 string exactly as hashed, not a datetime that could be re-rendered differently
    at = UnicodeAttribute()
    detail = MapAttribute(default=dict)
    prev_hash = UnicodeAttribute()
    hash = UnicodeAttribute()


class HeadItem(_ChainItem):
    """A shard's head (``seq == 0``): the last event's seq and hash, moved only by transactions."""

    last_seq = NumberAttribute()
    last_hash = UnicodeAttribute()


@dataclass(frozen=True)
class BoundModels:
    """The model classes and a transaction connection for one table."""

    event: type[EventItem]
    head: type[HeadItem]
    connection: Connection


@lru_cache(maxsize=32)
def bind_models(config: AuditConfig) -> BoundModels:
    """Model classes whose ``Meta`` points at ``config``'s table, endpoint and region.

    Cached per configuration, so every :class:`~audit.chain.AuditLog` on one table shares the
    botocore clients pynamodb keeps on each class.

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
    event = type("EventItem", (EventItem,), {"Meta": type("Meta", (), dict(meta))})
    head = type("HeadItem", (HeadItem,), {"Meta": type("Meta", (), dict(meta))})
    connection = Connection(region=config.region, host=config.endpoint, **config.credentials())
    return BoundModels(event=event, head=head, connection=connection)
