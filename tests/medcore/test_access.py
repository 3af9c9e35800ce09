"""The access policy: roles, actions, and that nobody crosses tenants."""

from __future__ import annotations

import pytest

from medcore.access import (
    ALL_TENANTS,
    POLICY,
    AccessDenied,
    Action,
    Principal,
    Role,
    authorize,
    is_allowed,
)

A, B = "tenant-a", "tenant-b"


def who(role: str, tenant: str = A) -> Principal:
    return Principal(actor=f"{role}@{tenant}", tenant_id=tenant, role=Role(role))


EXPECTED = {
    # action: roles allowed within their own tenant
    Action.encounter_read: {"coder", "reviewer", "admin"},
    Action.encounter_write: {"coder", "admin"},
    Action.codes_read: {"coder", "reviewer", "admin"},
    Action.codes_write: {"coder", "reviewer", "admin"},
    Action.code_submit: {"coder", "reviewer", "admin", "partner"},
    Action.usage_read: {"admin", "partner"},
    Action.audit_read: {"admin"},
    Action.audit_verify: {"admin"},
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_policy_table(role, action):
    assert is_allowed(who(role), action, A) == (role.value in EXPECTED[action])


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_nobody_crosses_tenants(role, action):
    with pytest.raises(AccessDenied) as caught:
        authorize(who(role, A), action, B)
    assert caught.value.action is action
    assert action.value in str(caught.value)
    assert B not in str(caught.value)  # the refusal does not confirm the other tenant exists


def test_partner_only_codes_and_reads_its_usage():
    assert POLICY[Role.partner] == {Action.code_submit, Action.usage_read}
    for action in (Action.encounter_read, Action.codes_read, Action.audit_read):
        with pytest.raises(AccessDenied, match=action.value):
            authorize(who("partner"), action, A)


def test_all_tenants_is_only_the_operator_admins_verify():
    operator = Principal("ops", "default", Role.admin)
    authorize(operator, Action.audit_verify, ALL_TENANTS)
    with pytest.raises(AccessDenied):
        authorize(operator, Action.audit_read, ALL_TENANTS)
    with pytest.raises(AccessDenied):
        authorize(who("admin", A), Action.audit_verify, ALL_TENANTS)
    with pytest.raises(AccessDenied):
        authorize(Principal("c", "default", Role.coder), Action.audit_verify, ALL_TENANTS)
    with pytest.raises(ValueError):
        Principal("x", ALL_TENANTS, Role.admin)


def test_principal_from_env_defaults_to_the_local_admin():
    p = Principal.from_env({"USER": "pat"})
    assert (p.actor, p.tenant_id, p.role) == ("local:pat", "default", Role.admin)
    p = Principal.from_env({"MEDCODE_ACTOR": "api:k1", "MEDCODE_TENANT": A, "MEDCODE_ROLE": "partner"})
    assert (p.actor, p.tenant_id, p.role) == ("api:k1", A, Role.partner)
    with pytest.raises(ValueError, match="MEDCODE_ROLE"):
        Principal.from_env({"MEDCODE_ROLE": "root"})
