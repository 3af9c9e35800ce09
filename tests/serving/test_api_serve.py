"""The partner API end to end: Ray Serve started once, real HTTP on loopback, DynamoDB Local behind.

Needs the local stand-ins (``python scripts/services.py up``). Dense retrieval is off for speed.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
NOTE = (
    "Chief complaint: follow-up.\n\nAssessment:\n1. Type 2 diabetes mellitus without complications.\n"
    "2. Essential hypertension.\n\nPlan: continue metformin.\n"
)
DOS = "2026-05-01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(url: str) -> bool:
    host, port = url.split("//")[1].split(":")
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, int(port))) == 0


@pytest.fixture(scope="session")
def api():
    from medcore.settings import get_settings

    if not _listening(get_settings().dynamodb_endpoint or "http://127.0.0.1:8765"):
        pytest.skip("DynamoDB Local is not running (python scripts/services.py up)")
    uid = uuid.uuid4().hex[:8]
    env = {
        "RAY_AUTH_MODE": "disabled", "MEDCODE_DENSE_ENABLED": "false", "HF_HUB_OFFLINE": "1",
        "MEDCODE_API_KEYS_TABLE": f"test-keys-{uid}", "MEDCODE_API_USAGE_TABLE": f"test-usage-{uid}",
        "MEDCODE_AUDIT_TABLE": f"test-audit-{uid}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    import ray
    from ray import serve

    from serving.deploy.local import run_local

    port = _free_port()
    info = run_local(
        port=port, blocking=False, num_cpus=2, actor_cpus=0,
        args_override={"api": {
            "max_batch_notes": 3, "max_note_chars": 5000, "max_body_bytes": 60_000,
            "tenants": {
                "tiny": {"quota_units_per_month": 3, "rate_per_s": 50, "burst": 50},
                "slow": {"rate_per_s": 0.05, "burst": 1},
            },
        }},
    )
    from serving.api.keys import KeyStore

    store = KeyStore()
    keys = {name: store.create(tenant, role)[0] for name, tenant, role in [
        ("a", "tenant-a", "partner"), ("b", "tenant-b", "partner"), ("reviewer", "tenant-a", "reviewer"),
        ("tiny", "tiny", "partner"), ("slow", "slow", "partner"), ("conc", "tenant-c", "partner"),
    ]}
    url = info["url"]
    # warm the pipeline once (the ingress loads medspaCy and the code set on first use)
    r = requests.post(f"{url}/v1/code", json={"note": NOTE, "date_of_service": DOS}, headers={"x-api-key": keys["b"]},
                      timeout=120)
    assert r.status_code == 200, r.text
    yield {"url": url, "keys": keys, "store": store, "audit_table": env["MEDCODE_AUDIT_TABLE"]}
    serve.shutdown()
    ray.shutdown()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    get_settings.cache_clear()


def post(api, path, body, key="a", **headers):
    hdrs = {"x-api-key": api["keys"][key]} if key else {}
    hdrs.update(headers)
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return requests.post(api["url"] + path, data=data, headers={"content-type": "application/json", **hdrs},
                         timeout=120)


def usage(api, key="a", **params):
    return requests.get(api["url"] + "/v1/usage", headers={"x-api-key": api["keys"][key]}, params=params, timeout=30)


def test_text_note_codes_with_evidence(api):
    r = post(api, "/v1/code", {"note": NOTE, "date_of_service": DOS})
    assert r.status_code == 200, r.text
    body = r.json()
    codes = [c["code"] for c in body["codes"]]
    assert "E11.9" in codes and "I10" in codes
    ev = body["codes"][0]["evidence"][0]
    assert NOTE[ev["start"]:ev["end"]] == ev["text"]
    assert r.headers["x-request-id"]
    assert set(body) >= {"encounter_id", "codes", "procedures", "em_level"}


def test_fhir_and_hl7_notes(api):
    fhir = json.loads((ROOT / "samples/fhir/ed_wrist_fracture_docref.json").read_text())
    r = post(api, "/v1/code", {"note": fhir, "format": "fhir"})
    assert r.status_code == 200, r.text
    assert any(c["code"].startswith("S52") for c in r.json()["codes"]), r.json()["codes"]
    hl7 = (ROOT / "samples/hl7/MDM-T02-medcode-copd.hl7").read_text()
    r = post(api, "/v1/code", {"note": hl7})
    assert r.status_code == 200, r.text
    assert any(c["code"].startswith("J44") for c in r.json()["codes"]), r.json()["codes"]


def test_client_request_id_is_echoed(api):
    r = post(api, "/v1/code", {"note": NOTE, "date_of_service": DOS}, **{"x-request-id": "req-test-123"})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "req-test-123"


def test_auth_errors(api):
    assert post(api, "/v1/code", {"note": NOTE}, key=None).status_code == 401
    r = post(api, "/v1/code", {"note": NOTE}, key=None, **{"x-api-key": "mck_nope_secret"})
    assert r.status_code == 401 and r.headers["x-request-id"] and r.json()["request_id"]
    good = api["keys"]["a"]
    assert post(api, "/v1/code", {"note": NOTE}, key=None, **{"x-api-key": good[:-2] + "xx"}).status_code == 401
    # role: a reviewer may code but not read the bill
    assert usage(api, "reviewer").status_code == 403
    # tenant: a body naming another tenant
    assert post(api, "/v1/code", {"note": NOTE, "tenant_id": "tenant-b"}).status_code == 403


def test_tenant_cannot_read_another_tenants_usage(api):
    assert usage(api, "a", tenant_id="tenant-b").status_code == 403
    mine = usage(api, "a")
    assert mine.status_code == 200 and mine.json()["tenant_id"] == "tenant-a"


def test_revoked_key_is_refused(api):
    key, info = api["store"].create("tenant-r", "partner")
    assert api["store"].revoke(info.key_id)
    # replicas cache accepted keys for key_cache_s; one they never accepted is refused at once
    r = requests.get(api["url"] + "/v1/usage", headers={"x-api-key": key}, timeout=30)
    assert r.status_code == 401


def test_payload_limits_and_malformed_bodies(api):
    assert post(api, "/v1/code", {"note": "x" * 5001}).status_code == 413
    assert post(api, "/v1/code", "x" * 70_000).status_code == 413
    r = post(api, "/v1/code", "{not json")
    assert r.status_code == 422
    r = post(api, "/v1/code", {"text": "secret note text"})
    assert r.status_code == 422
    assert "secret note text" not in r.text  # validation errors never echo the input
    assert post(api, "/v1/code", {"note": NOTE, "date_of_service": "yesterday"}).status_code == 422
    batch = {"notes": [{"note": NOTE}] * 4}
    assert post(api, "/v1/code:batch", batch).status_code == 413


def test_rate_limit_answers_429_with_retry_after(api):
    first = usage(api, "slow")  # usage is not rate limited; coding is
    assert first.status_code == 200
    codes = [post(api, "/v1/code", {"note": "Assessment:\n1. Essential hypertension.\n", "date_of_service": DOS},
                  key="slow", **{"Idempotency-Key": f"slow-{i}"}) for i in range(2)]
    assert codes[0].status_code == 200
    assert codes[1].status_code == 429
    assert int(codes[1].headers["Retry-After"]) >= 1


def test_quota_answers_429_and_is_not_exceeded(api):
    note = "Assessment:\n1. Essential hypertension.\n" + "x" * 120  # 160 chars: 2 units
    assert post(api, "/v1/code", {"note": note, "date_of_service": DOS}, key="tiny",
                **{"Idempotency-Key": "q1"}).status_code == 200
    r = post(api, "/v1/code", {"note": note, "date_of_service": DOS}, key="tiny", **{"Idempotency-Key": "q2"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    u = usage(api, "tiny").json()
    assert u["units"] == 2 and u["quota_units"] == 3


def test_usage_counted_once_under_concurrent_retries(api):
    note = "Assessment:\n1. Type 2 diabetes mellitus without complications.\n" + "y" * 190
    expected = math.ceil(len(note) / 100)
    statuses: list[int] = []

    def send():
        r = post(api, "/v1/code", {"note": note, "date_of_service": DOS}, key="conc",
                 **{"Idempotency-Key": "same-request-1"})
        statuses.append(r.status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert statuses == [200] * 6
    u = usage(api, "conc").json()
    assert (u["units"], u["notes"], u["requests"]) == (expected, 1, 1)
    # a short note is still one unit; a new key is a new request
    r = post(api, "/v1/code", {"note": "Dx: HTN", "date_of_service": DOS}, key="conc", **{"Idempotency-Key": "k2"})
    assert r.status_code == 200
    assert usage(api, "conc").json()["units"] == expected + 1


def test_batch_endpoint(api):
    bad_hl7 = "MSH|^~\\&|broken"
    body = {"notes": [{"note": NOTE, "date_of_service": DOS}, {"note": bad_hl7, "format": "hl7"},
                      {"note": "Assessment:\n1. Essential hypertension.\n", "date_of_service": DOS}]}
    before = usage(api, "a").json()["units"]
    r = post(api, "/v1/code:batch", body, **{"Idempotency-Key": "batch-1"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [i["status"] for i in out["results"]] == [200, 422, 200]
    assert out["notes_coded"] == 2
    assert out["units"] == math.ceil(len(NOTE) / 100) + 1
    assert usage(api, "a").json()["units"] == before + out["units"]


def test_ranker_batches_mentions(api):
    # asked through the Ingress (/readyz), whose handles to the Ranker are the ones the API uses
    stats = requests.get(api["url"] + "/readyz", timeout=30).json()["ranker"]
    assert stats["backend"] == "inprocess"
    assert stats["largest_batch"] >= 2  # one request's mentions arrive at @serve.batch together


def test_health_ready_openapi(api):
    assert requests.get(api["url"] + "/healthz", timeout=10).json() == {"status": "ok"}
    r = requests.get(api["url"] + "/readyz", timeout=30)
    assert r.status_code == 200 and r.json()["checks"] == {
        "ingress": True, "retriever": True, "ranker": True, "dynamodb": True}
    doc = requests.get(api["url"] + "/openapi.json", timeout=10).json()
    assert {"/v1/code", "/v1/code:batch", "/v1/usage", "/healthz", "/readyz"} <= set(doc["paths"])
    assert "APIKeyHeader" in json.dumps(doc["components"]["securitySchemes"])


def test_audit_records_the_notes_read(api):
    from audit import AuditConfig, AuditLog
    from medcore.access import Principal

    log = AuditLog(AuditConfig.from_settings(table_name=api["audit_table"]))
    recs = log.read(Principal("admin:test", "tenant-a", "admin"), "tenant-a")
    reads = [r.event for r in recs if r.event.action == "read" and r.event.source == "api"]
    assert reads, "no audit events for tenant-a"
    assert all(e.detail.get("request_id") and e.actor.startswith("apikey:") for e in reads)
    assert all("diabetes" not in json.dumps(e.model_dump(mode="json")).lower() for e in reads)
