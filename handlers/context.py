"""What every stage handler needs: settings, the actor, and an audit sink.

Audit events are buffered per unit of work and flushed in one batch (``flush``), because the
chain append is a DynamoDB transaction and batching is what makes it fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from medcore.model import AuditAction, AuditEvent
from medcore.settings import Settings, get_settings


class AuditSink(Protocol):
    def append_many(self, events: list[AuditEvent]) -> object: ...


@dataclass
class StageContext:
    settings: Settings = field(default_factory=get_settings)
    tenant_id: str = "default"
    actor: str = "system:local-runner"
    source: str = "cli"
    purpose: str = "payment"
    audit_sink: AuditSink | None = None
    pending: list[AuditEvent] = field(default_factory=list)

    def audit(self, action: AuditAction, resource_type: str, resource_id: str, **detail: str) -> None:
        self.pending.append(
            AuditEvent(
                tenant_id=self.tenant_id,
                actor=self.actor,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                purpose=self.purpose,
                source=self.source,
                detail={k: str(v) for k, v in detail.items()},
            )
        )

    def flush(self) -> int:
        events, self.pending = self.pending, []
        if events and self.audit_sink is not None:
            self.audit_sink.append_many(events)
        return len(events)
