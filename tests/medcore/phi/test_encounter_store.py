"""The encrypted encounter store: no plaintext PHI at rest, tenant isolation, rotation."""

from __future__ import annotations

import json

import pytest

from medcore.access import AccessDenied, Principal, Role
from medcore.model import Encounter
from medcore.phi.envelope import DecryptError, EnvelopeCipher, KmsKeyProvider, LocalKeyProvider
from medcore.phi.store import EncounterNotFound, EncounterStore

NOTE = "Chief complaint: cough. Pt Zebulon Quixote reports 3 days of productive cough. Assessment: acute bronchitis."
NAME = "QUIXOTE^ZEBULON"
MEMBER = "ZQX991827364"
BIRTH = "1958-11-23"
MRN = "MRN-88123"


def encounter(tenant: str = "tenant-a", eid: str = "ENC-1") -> Encounter:
    return Encounter.model_validate({
        "encounter_id": eid,
        "tenant_id": tenant,
        "date_of_service": "2026-05-04",
        "patient": {"patient_id": MRN, "name": NAME, "birth_date": BIRTH, "member_id": MEMBER, "sex": "M"},
        "payer": {"payer_id": "87726", "name": "ACME HEALTH PLAN"},
        "notes": [{"text": NOTE, "title": "Progress note"}, {"text": "Second note mentions Zebulon again."}],
        "diagnoses": [{"code": "J20.9", "description": "Acute bronchitis, unspecified",
                       "evidence": [{"start": 92, "end": 108, "text": "acute bronchitis"}],
                       "explanation": 'matched "acute bronchitis"'}],
    })


@pytest.fixture
def store(tmp_path) -> EncounterStore:
    provider = LocalKeyProvider(tmp_path / "keys")
    return EncounterStore(root=tmp_path / "encounters", cipher=EnvelopeCipher(provider, provider.ensure_key("v1")))


def coder(tenant: str = "tenant-a") -> Principal:
    return Principal(actor=f"coder@{tenant}", tenant_id=tenant, role=Role.coder)


def _all_bytes(root) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_round_trip(store):
    enc = encounter()
    store.put(enc)
    assert store.get("tenant-a", "ENC-1", coder()) == enc
    assert store.ids("tenant-a", coder()) == ["ENC-1"]


def test_no_plaintext_phi_in_the_stored_bytes(store):
    store.put(encounter())
    raw = _all_bytes(store.root)
    for secret in (NOTE, "Zebulon", "ZEBULON", NAME, MEMBER, BIRTH, BIRTH.replace("-", ""), MRN, "productive cough",
                   "acute bronchitis"):
        assert secret.encode() not in raw, secret
    doc = json.loads(store.path("tenant-a", "ENC-1").read_bytes())
    # everything else stays readable
    assert doc["encounter"]["diagnoses"][0]["code"] == "J20.9"
    assert doc["encounter"]["payer"]["name"] == "ACME HEALTH PLAN"
    assert doc["encounter"]["patient"]["name"]["alg"] == "AES-256-GCM"
    assert (store.path("tenant-a", "ENC-1").stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize("role", list(Role))
def test_tenant_b_cannot_read_tenant_a(store, role):
    store.put(encounter("tenant-a", "ENC-1"))
    intruder = Principal(actor="x@b", tenant_id="tenant-b", role=role)
    with pytest.raises(AccessDenied, match="encounter:read"):
        store.get("tenant-a", "ENC-1", intruder)
    with pytest.raises(AccessDenied):
        store.ids("tenant-a", intruder)
    # asking for the id under its own tenant finds nothing: ids are per tenant
    if role is not Role.partner:
        with pytest.raises(EncounterNotFound):
            store.get("tenant-b", "ENC-1", intruder)


def test_partner_reads_no_stored_encounter_even_its_own(store):
    store.put(encounter("tenant-a", "ENC-1"))
    with pytest.raises(AccessDenied):
        store.get("tenant-a", "ENC-1", Principal("p", "tenant-a", Role.partner))
    with pytest.raises(AccessDenied, match="encounter:write"):
        store.put(encounter("tenant-a", "ENC-2"), Principal("p", "tenant-a", Role.partner))


def test_a_file_copied_into_another_tenant_does_not_open(store):
    store.put(encounter("tenant-a", "ENC-1"))
    target = store.path("tenant-b", "ENC-1")
    target.parent.mkdir(parents=True)
    target.write_bytes(store.path("tenant-a", "ENC-1").read_bytes())
    with pytest.raises(EncounterNotFound):
        store.get("tenant-b", "ENC-1", coder("tenant-b"))
    # relabelled to match, the envelopes still carry tenant-a in their associated data
    doc = json.loads(target.read_bytes())
    doc["tenant_id"] = doc["encounter"]["tenant_id"] = "tenant-b"
    target.write_text(json.dumps(doc))
    with pytest.raises(DecryptError):
        store.get("tenant-b", "ENC-1", coder("tenant-b"))


def test_odd_ids_never_escape_the_root(store):
    enc = encounter("../../etc", "../passwd")
    path = store.put(enc)
    assert store.root in path.parents
    assert store.get("../../etc", "../passwd", coder("../../etc")) == enc


def test_rotation_moves_every_field_to_the_new_key(store):
    store.put(encounter())
    assert store.key_ids("tenant-a", "ENC-1") == {"v1"}
    provider = store.cipher.provider
    store.cipher.use_key(provider.ensure_key("v2"))
    store.put(encounter(eid="ENC-2"))
    assert store.key_ids("tenant-a", "ENC-2") == {"v2"}
    assert store.get("tenant-a", "ENC-1", coder()) == encounter()  # old key still readable
    store.rotate("tenant-a", "ENC-1")
    assert store.key_ids("tenant-a", "ENC-1") == {"v2"}
    (store.cipher.provider.key_dir / "v1.key").unlink()
    store.cipher.clear_cache()
    assert store.get("tenant-a", "ENC-1", coder()) == encounter()


def test_reads_and_writes_are_audited_without_phi(tmp_path):
    class Sink:
        events = []

        def append_many(self, events):
            self.events.extend(events)

    provider = LocalKeyProvider(tmp_path / "k")
    store = EncounterStore(root=tmp_path / "e", cipher=EnvelopeCipher(provider, provider.ensure_key()), audit_sink=Sink())
    store.put(encounter(), coder())
    store.get("tenant-a", "ENC-1", coder())
    assert [(e.action.value, e.resource_id, e.actor) for e in Sink.events] == [
        ("create", "ENC-1", "coder@tenant-a"), ("read", "ENC-1", "coder@tenant-a")]
    assert not any(s in e.model_dump_json() for e in Sink.events for s in (NAME, MEMBER, BIRTH, "Zebulon"))


@pytest.mark.integration
def test_kms_backed_store(services, tmp_path):
    if "moto" not in services:
        pytest.skip("needs moto server")
    kms = KmsKeyProvider()
    alias = "alias/medcode-store-test-" + __import__("uuid").uuid4().hex[:8]
    store = EncounterStore(root=tmp_path / "enc", cipher=EnvelopeCipher(kms, kms.ensure_key(alias)))
    store.put(encounter())
    raw = _all_bytes(store.root)
    assert not any(s.encode() in raw for s in (NOTE, NAME, MEMBER, BIRTH))
    new = kms.create_key()
    kms.point_alias(alias, new)
    store.cipher.use_key(alias)
    store.rotate("tenant-a", "ENC-1")
    assert store.key_ids("tenant-a", "ENC-1") == {new}
    assert store.get("tenant-a", "ENC-1", coder()) == encounter()
