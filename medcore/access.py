"""Who may do what, for which tenant: roles, actions and one policy table.

Every entry point (the CLI today, the HTTP API later) builds a :class:`Principal` for its caller
and calls :func:`authorize` before it touches a resource. The policy is data (:data:`POLICY`), so
the API's 403 and the CLI's refusal come from the same table.

Two rules hold for every role:

- nobody crosses tenants: a principal acts only on resources of its own ``tenant_id``;
- the one exception is :data:`ALL_TENANTS` for ``audit:verify``, the installation-wide integrity
  check, allowed only to an admin of the operator tenant. Verification reports shard names and
  sequence numbers, never entry content.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from medcore.errors import MedcodeError

ALL_TENANTS = "*"
#: the installation's own tenant: the embedded runner and the local CLI act as it
OPERATOR_TENANT = "default"


class Role(StrEnum):
    coder = "coder"
    reviewer = "reviewer"
    admin = "admin"
    partner = "partner"


class Action(StrEnum):
    encounter_read = "encounter:read"
    encounter_write = "encounter:write"
    codes_read = "codes:read"  # a stored encounter's suggested and accepted codes
    codes_write = "codes:write"  # accept, override or remove codes on a stored encounter
    code_submit = "code:submit"  # send a note to the coder and get its codes back (POST /v1/code)
    usage_read = "usage:read"  # the tenant's metered units (GET /v1/usage)
    audit_read = "audit:read"  # audit entries of the tenant
    audit_verify = "audit:verify"  # integrity check, digests and inclusion proofs


POLICY: Mapping[Role, frozenset[Action]] = {
    Role.coder: frozenset(
        {Action.encounter_read, Action.encounter_write, Action.codes_read, Action.codes_write, Action.code_submit}
    ),
    Role.reviewer: frozenset({Action.encounter_read, Action.codes_read, Action.codes_write, Action.code_submit}),
    Role.admin: frozenset(Action),
    # an integration partner codes through the API and sees its own bill; it never reads stored PHI
    Role.partner: frozenset({Action.code_submit, Action.usage_read}),
}


class AccessDenied(MedcodeError):
    """The principal may not perform ``action`` on ``resource_tenant``'s data.

    The message names the action, the role and whether the tenant differed; it never names the
    other tenant (that would tell a caller which tenants exist).
    """

    def __init__(self, principal: Principal, action: Action, reason: str):
        self.actor = principal.actor
        self.role = principal.role
        self.action = action
        self.reason = reason
        super().__init__(f"{action.value} denied for role {principal.role.value}: {reason}")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: who (``actor``), for which tenant, in which role."""

    actor: str
    tenant_id: str
    role: Role

    def __post_init__(self) -> None:
        if not self.actor or not self.tenant_id:
            raise ValueError("a principal needs an actor and a tenant")
        if self.tenant_id == ALL_TENANTS:
            raise ValueError(f"{ALL_TENANTS!r} is not a tenant")
        object.__setattr__(self, "role", Role(self.role))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Principal:
        """``MEDCODE_ACTOR``, ``MEDCODE_TENANT``, ``MEDCODE_ROLE``; by default the local admin.

        Raises
        ------
        ValueError
            ``MEDCODE_ROLE`` is not one of the roles.
        """
        env = os.environ if environ is None else environ
        actor = env.get("MEDCODE_ACTOR") or f"local:{env.get('USER', 'user')}"
        tenant = env.get("MEDCODE_TENANT") or OPERATOR_TENANT
        role = env.get("MEDCODE_ROLE") or Role.admin.value
        try:
            return cls(actor=actor, tenant_id=tenant, role=Role(role))
        except ValueError:
            raise ValueError(
                f"MEDCODE_ROLE must be one of {', '.join(r.value for r in Role)} (got {role!r})"
            ) from None


def is_allowed(principal: Principal, action: Action | str, resource_tenant: str) -> bool:
    """Like :func:`authorize`, as a bool."""
    try:
        authorize(principal, action, resource_tenant)
    except AccessDenied:
        return False
    return True


def authorize(principal: Principal, action: Action | str, resource_tenant: str) -> None:
    """Allow or refuse one action on one tenant's resources.

    Parameters
    ----------
    principal : Principal
    action : Action or str
        e.g. ``Action.encounter_read`` or ``"encounter:read"``.
    resource_tenant : str
        The tenant that owns the resource, or :data:`ALL_TENANTS` for the installation-wide
        ``audit:verify``.

    Raises
    ------
    AccessDenied
        The role lacks the action, or the resource belongs to another tenant.
    """
    action = Action(action)
    if action not in POLICY.get(principal.role, frozenset()):
        raise AccessDenied(principal, action, "not permitted to this role")
    if resource_tenant == ALL_TENANTS:
        if action is Action.audit_verify and principal.tenant_id == OPERATOR_TENANT:
            return
        raise AccessDenied(principal, action, "all-tenant access is reserved to the operator's admins")
    if resource_tenant != principal.tenant_id:
        raise AccessDenied(principal, action, "resource belongs to another tenant")
