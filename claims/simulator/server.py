"""A local clearinghouse simulator: a real HTTP server (stdlib ``ThreadingHTTPServer``) on loopback.

It speaks the API :class:`~claims.clearinghouse.http.HttpClearinghouse` expects. A posted 837P is
validated with pyx12 (through :func:`claims.x837p.validate.validate_837p`), which writes the 999. When
the 999 accepts the file, each claim gets a 277CA status (A2:20 accepted, or A7:562:85 when an NPI
fails its check digit) and every accepted claim is adjudicated by the payer rules; its 835 becomes
available ``remit_delay_s`` later. A JSON claim skips the 999 (no X12 was sent) and gets a 277CA.

The same ``Idempotency-Key`` always returns the original receipt (``200`` with ``replayed: true``);
reusing a key for a different body is refused with 422. ``inject_fault`` makes the next requests fail
(with a status, a delay, or after processing) so client retries can be tested for real.

The server keeps everything in memory and logs nothing about requests: bodies are PHI.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from claims.acks import parse_999
from claims.simulator.adjudicate import ClaimResult, adjudicate
from claims.simulator.intake import Interchange837, claim_from_json, read_837p
from claims.simulator.rules import PayerRules, load_rules
from claims.simulator.writers import write_277ca, write_835
from claims.x837p.validate import validate_837p

__all__ = ["ClearinghouseSimulator", "running_simulator"]

MAX_BODY = 5 * 1024 * 1024


@dataclass
class _Fault:
    status: int | None
    delay_s: float
    after_processing: bool
    remaining: int


@dataclass
class _Submission:
    receipt: dict[str, Any]
    body_hash: str
    acks: list[dict[str, Any]] = field(default_factory=list)
    results: list[ClaimResult] = field(default_factory=list)
    receiver_id: str = "UNKNOWN"
    remit_ready_at: float = 0.0
    remittance: dict[str, Any] | None = None


class ClearinghouseSimulator:
    """The simulator; use as a context manager, or :meth:`start` / :meth:`stop`.

    Parameters
    ----------
    rules : PayerRules or path, optional
        Payer adjudication rules; default ``claims/data/payer_rules.yaml``.
    api_key, bearer_token : str, optional
        When either is set, requests must present it (``x-api-key`` or ``Authorization: Bearer``).
    remit_delay_s : float, default 0
        How long after acceptance the 835 is available.
    host, port : str, int
        ``port=0`` picks a free ephemeral port. Only loopback hosts are allowed.
    """

    def __init__(
        self,
        rules: PayerRules | Path | str | None = None,
        *,
        api_key: str | None = None,
        bearer_token: str | None = None,
        remit_delay_s: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the simulator listens on loopback only")
        self.rules = rules if isinstance(rules, PayerRules) else load_rules(rules)
        self.api_key = api_key
        self.bearer_token = bearer_token
        self.remit_delay_s = remit_delay_s
        self._clock = clock
        self._host, self._port = host, port
        self._lock = threading.RLock()
        self._submissions: dict[str, _Submission] = {}
        self._keys: dict[str, str] = {}
        self._faults: list[_Fault] = []
        self._control = itertools.count(1)
        self.requests_seen = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        """Start serving in a daemon thread; returns the base URL."""
        simulator = self

        class Handler(_Handler):
            sim = simulator

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="clearinghouse-sim", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ClearinghouseSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls -----------------------------------------------------------------------------

    def inject_fault(self, *, status: int | None = 503, delay_s: float = 0.0, times: int = 1,
                     after_processing: bool = False) -> None:
        """Make the next ``times`` requests sleep ``delay_s`` and/or answer ``status``.

        With ``after_processing`` a POST is processed (and recorded) before the failure is sent,
        the way a response lost on the network looks to a client.
        """
        with self._lock:
            self._faults.append(_Fault(status, delay_s, after_processing, times))

    @property
    def submission_count(self) -> int:
        with self._lock:
            return len(self._submissions)

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            while self._faults and self._faults[0].remaining <= 0:
                self._faults.pop(0)
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.remaining -= 1
            return fault

    # -- the API -----------------------------------------------------------------------------------

    def submit(self, body: bytes, kind: str, key: str | None) -> tuple[int, dict[str, Any]]:
        body_hash = hashlib.sha256(body).hexdigest()
        with self._lock:  # one submission at a time: keys are checked and recorded atomically
            if key and key in self._keys:
                sub = self._submissions[self._keys[key]]
                if sub.body_hash != body_hash:
                    return 422, {"error": "idempotency_key_reused", "detail": "this Idempotency-Key was used for a different body"}
                return 200, {**sub.receipt, "replayed": True}
            status, receipt = (self._submit_x12 if kind == "x12" else self._submit_json)(body, body_hash, key)
            if status < 300 and key:
                self._keys[key] = receipt["submission_id"]
            return status, receipt

    def _new_receipt(self, kind: str, claim_ids: list[str], key: str | None, control: str | None) -> dict[str, Any]:
        return {
            "submission_id": "sub_" + uuid.uuid4().hex[:20],
            "status": "received",
            "received_at": self._clock().isoformat(),
            "format": kind,
            "claim_ids": claim_ids,
            "interchange_control_number": control,
            "idempotency_key": key,
            "replayed": False,
        }

    def _submit_x12(self, body: bytes, body_hash: str, key: str | None) -> tuple[int, dict[str, Any]]:
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            return 400, {"error": "not_ascii", "detail": "X12 bodies must be ASCII"}
        if not text.lstrip().startswith("ISA") or len(text.lstrip()) < 106:
            return 400, {"error": "not_x12", "detail": "the body does not start with an ISA segment"}
        report = validate_837p(text)
        if not report.ack_999:
            return 400, {"error": "unreadable_interchange", "detail": "the interchange could not be read far enough to acknowledge"}
        try:
            interchange: Interchange837 | None = read_837p(text)
        except ValueError:
            interchange = None
        receipt = self._new_receipt("x12", [c.claim_id for c in interchange.claims] if interchange else [], key,
                                    interchange.control_number if interchange else None)
        sub = _Submission(receipt=receipt, body_hash=body_hash)
        now = self._clock()
        sub.acks.append({"type": "999", "x12": report.ack_999, "created_at": now.isoformat()})
        accepted = any(a.accepted for a in parse_999(report.ack_999))
        if accepted and interchange is not None:
            self._acknowledge_and_adjudicate(sub, interchange, now)
        self._submissions[receipt["submission_id"]] = sub
        return 202, receipt

    def _submit_json(self, body: bytes, body_hash: str, key: str | None) -> tuple[int, dict[str, Any]]:
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {"error": "invalid_json"}
        items = payload.get("claims") if isinstance(payload, dict) and "claims" in payload else [payload]
        try:
            claims = [claim_from_json(item) for item in items]
        except (ValidationError, TypeError, AttributeError) as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()}) if isinstance(exc, ValidationError) else []
            return 422, {"error": "invalid_claim", "fields": fields}
        submitter = str(payload.get("submitter_id", "JSONAPI")) if isinstance(payload, dict) else "JSONAPI"
        interchange = Interchange837(sender_id=submitter, receiver_id="CLEARHOUSE", control_number="0",
                                     group_control_number="0", claims=claims)
        receipt = self._new_receipt("json", [c.claim_id for c in claims], key, None)
        sub = _Submission(receipt=receipt, body_hash=body_hash)
        self._acknowledge_and_adjudicate(sub, interchange, self._clock())
        self._submissions[receipt["submission_id"]] = sub
        return 202, receipt

    def _acknowledge_and_adjudicate(self, sub: _Submission, interchange: Interchange837, now: datetime) -> None:
        submission_id = sub.receipt["submission_id"]
        rejected = {claim_id: ("A7", "562") for claim_id in interchange.npi_errors}
        sub.acks.append({
            "type": "277CA",
            "x12": write_277ca(interchange, rejected, submission_id=submission_id, control_number=next(self._control),
                               created=now.replace(tzinfo=None)),
            "created_at": now.isoformat(),
        })
        sub.receiver_id = interchange.sender_id
        sub.results = [adjudicate(c, self.rules) for c in interchange.claims if c.claim_id not in rejected]
        sub.remit_ready_at = time.monotonic() + self.remit_delay_s

    def acknowledgements(self, submission_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            sub = self._submissions.get(submission_id)
            if sub is None:
                return 404, {"error": "unknown_submission"}
            return 200, {"submission_id": submission_id, "acknowledgements": list(sub.acks)}

    def receipt(self, submission_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            sub = self._submissions.get(submission_id)
            return (200, sub.receipt) if sub else (404, {"error": "unknown_submission"})

    def remittances(self, since: datetime | None, submission_id: str | None) -> tuple[int, dict[str, Any]]:
        out = []
        with self._lock:
            for sid, sub in self._submissions.items():
                if submission_id and sid != submission_id:
                    continue
                if not sub.results or time.monotonic() < sub.remit_ready_at:
                    continue
                if sub.remittance is None:
                    created = self._clock()
                    sub.remittance = {
                        "remittance_id": "era_" + uuid.uuid4().hex[:20],
                        "submission_id": sid,
                        "created_at": created.isoformat(),
                        "x12": write_835(sub.results, submission_id=sid, receiver_id=sub.receiver_id,
                                         control_number=next(self._control), created=created.replace(tzinfo=None)),
                    }
                if since is None or datetime.fromisoformat(sub.remittance["created_at"]) > since:
                    out.append(sub.remittance)
        return 200, {"remittances": out}


class _Handler(BaseHTTPRequestHandler):
    sim: ClearinghouseSimulator
    protocol_version = "HTTP/1.1"
    server_version = "medcode-clearinghouse-sim/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # no request logging: paths and bodies can identify patients

    def _send(self, status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        sim = self.sim
        if not sim.api_key and not sim.bearer_token:
            return True
        if sim.api_key and self.headers.get("x-api-key") == sim.api_key:
            return True
        return bool(sim.bearer_token and self.headers.get("Authorization") == f"Bearer {sim.bearer_token}")

    def _dispatch(self, method: str) -> None:
        sim = self.sim
        with sim._lock:
            sim.requests_seen += 1
        body = b""
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, {"error": "body_too_large"})
                return
            body = self.rfile.read(length)
        fault = sim._take_fault()
        if fault is not None and fault.delay_s:
            time.sleep(fault.delay_s)
        if fault is not None and fault.status and not fault.after_processing:
            self._send(fault.status, {"error": "injected_fault"}, {"Retry-After": "0"})
            return
        if not self._authorized():
            self._send(401, {"error": "unauthorized"}, {"WWW-Authenticate": "Bearer"})
            return
        status, data = self._route(method, body)
        if fault is not None and fault.status and fault.after_processing:
            self._send(fault.status, {"error": "injected_fault"}, {"Retry-After": "0"})
            return
        self._send(status, data)

    def _route(self, method: str, body: bytes) -> tuple[int, dict[str, Any]]:
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        sim = self.sim
        key = self.headers.get("Idempotency-Key")
        if method == "POST" and parts == ["claims", "x12"]:
            return sim.submit(body, "x12", key)
        if method == "POST" and parts == ["claims"]:
            return sim.submit(body, "json", key)
        if method == "GET" and parts == ["healthz"]:
            return 200, {"status": "ok"}
        if method == "GET" and len(parts) == 2 and parts[0] == "submissions":
            return sim.receipt(parts[1])
        if method == "GET" and len(parts) == 3 and parts[0] == "submissions" and parts[2] == "acknowledgements":
            return sim.acknowledgements(parts[1])
        if method == "GET" and parts == ["remittances"]:
            query = parse_qs(url.query)
            since = None
            if "since" in query:
                try:
                    since = datetime.fromisoformat(query["since"][0])
                    since = since if since.tzinfo else since.replace(tzinfo=UTC)
                except ValueError:
                    return 400, {"error": "invalid_since"}
            return sim.remittances(since, query.get("submission_id", [None])[0])
        return 404, {"error": "not_found"}

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("POST")


@contextmanager
def running_simulator(port: int = 0, rules: PayerRules | Path | str | None = None, **options: Any) -> Iterator[str]:
    """Run a :class:`ClearinghouseSimulator` on 127.0.0.1 for the ``with`` block; yields its base URL."""
    with ClearinghouseSimulator(rules, port=port, **options) as sim:
        yield sim.base_url
