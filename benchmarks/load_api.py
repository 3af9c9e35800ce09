"""Load test of the partner API on loopback: throughput, latency percentiles and errors per concurrency.

Starts the Serve app from ``serving/serve_config.yaml`` (unless ``--url`` points at a running one),
creates a key for a benchmark tenant with limits out of the way, and sends the bundled sample notes
(text, FHIR, HL7) at each concurrency level. Every level is bounded by ``--duration-s`` and
``--requests``. Each request carries its own Idempotency-Key (every one is billed).

    .venv/bin/python scripts/services.py up
    MEDCODE_DENSE_ENABLED=false .venv/bin/python benchmarks/load_api.py --append docs/BENCHMARKS.md

Prints JSON on stdout; ``--append FILE`` adds a Markdown table with the exact command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import socket
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _notes() -> list[dict]:
    out = [{"note": p.read_text(), "date_of_service": "2026-05-01"} for p in sorted((ROOT / "samples/text").glob("*.txt"))]
    out.append({"note": json.loads((ROOT / "samples/fhir/ed_wrist_fracture_docref.json").read_text()), "format": "fhir"})
    out.append({"note": (ROOT / "samples/hl7/MDM-T02-medcode-copd.hl7").read_text()})
    return out


def _pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]


def run_level(url: str, key: str, notes: list[dict], concurrency: int, duration_s: float, max_requests: int) -> dict:
    lat: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    issued = [0]
    stop_at = time.monotonic() + duration_s

    def worker() -> None:
        s = requests.Session()
        while time.monotonic() < stop_at:
            with lock:
                if issued[0] >= max_requests:
                    return
                i = issued[0]
                issued[0] += 1
            t0 = time.perf_counter()
            try:
                r = s.post(f"{url}/v1/code", json=notes[i % len(notes)], timeout=60,
                           headers={"x-api-key": key, "Idempotency-Key": uuid.uuid4().hex})
                status = str(r.status_code)
            except requests.RequestException as exc:
                status = type(exc).__name__
            dt = time.perf_counter() - t0
            with lock:
                if status == "200":
                    lat.append(dt)
                else:
                    errors[status] = errors.get(status, 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration_s + 90)
    wall = time.perf_counter() - t0
    n_err = sum(errors.values())
    total = len(lat) + n_err
    return {
        "concurrency": concurrency, "requests": total, "ok": len(lat), "wall_s": round(wall, 2),
        "throughput_rps": round(len(lat) / wall, 2) if wall else 0.0,
        "p50_ms": _ms(_pct(lat, 50)), "p95_ms": _ms(_pct(lat, 95)), "p99_ms": _ms(_pct(lat, 99)),
        "error_rate": round(n_err / total, 4) if total else 0.0, "errors": errors,
    }


def _ms(x: float | None) -> float | None:
    return None if x is None else round(x * 1000, 1)


def replicas() -> dict[str, int]:
    try:
        from ray import serve

        app = serve.status().applications["medcode"]
        return {name: sum(n for state, n in d.replica_states.items() if str(state).endswith("RUNNING"))
                for name, d in app.deployments.items()}
    except Exception:  # noqa: BLE001 - a remote --url: not ours to ask
        return {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running API (then --key is required); default: start one here")
    ap.add_argument("--key", help="API key for --url")
    ap.add_argument("--concurrency", default="1,8,32,64")
    ap.add_argument("--duration-s", type=float, default=20.0, help="per level, at most")
    ap.add_argument("--requests", type=int, default=300, help="per level, at most")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--label", default="CPU (2 vCPU), dense retrieval off" if os.environ.get("MEDCODE_DENSE_ENABLED") == "false" else "")
    ap.add_argument("--append", type=Path, help="append a Markdown table to this file")
    args = ap.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    notes = _notes()
    started = time.perf_counter()
    if args.url:
        if not args.key:
            ap.error("--url needs --key")
        url, key = args.url.rstrip("/"), args.key
    else:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        from serving.api.keys import KeyStore
        from serving.deploy.local import run_local

        tenant = "bench-" + uuid.uuid4().hex[:6]
        info = run_local(port=_free_port(), blocking=False, args_override={"api": {
            "tenants": {tenant: {"rate_per_s": 100000, "burst": 100000}}}})
        url = info["url"]
        key, _ = KeyStore().create(tenant, "partner", label="load_api benchmark")
    startup_s = time.perf_counter() - started
    for i in range(args.warmup):
        requests.post(f"{url}/v1/code", json=notes[i % len(notes)], timeout=120,
                      headers={"x-api-key": key, "Idempotency-Key": uuid.uuid4().hex})
    results = []
    for c in levels:
        res = run_level(url, key, notes, c, args.duration_s, args.requests)
        res["replicas"] = replicas()
        results.append(res)
        print(json.dumps(res), file=sys.stderr)
    report = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"), "url": url, "startup_s": round(startup_s, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "label": args.label, "dense": os.environ.get("MEDCODE_DENSE_ENABLED", "true"), "levels": results,
    }
    print(json.dumps(report, indent=2))
    if args.append:
        cmd = " ".join(shlex.quote(a) for a in [sys.executable.replace(str(ROOT) + "/", ""), *sys.argv])
        if os.environ.get("MEDCODE_DENSE_ENABLED"):
            cmd = f"MEDCODE_DENSE_ENABLED={os.environ['MEDCODE_DENSE_ENABLED']} {cmd}"
        lines = [
            f"\n### Partner API load test ({args.label or 'default config'}) — {report['at']}",
            f"`{cmd}` ({report['machine']}; Serve start-up {report['startup_s']} s; bounded by "
            f"{args.duration_s:g} s and {args.requests} requests per level; sample notes: text, FHIR, HL7)",
            "",
            "| concurrency | requests | throughput (req/s) | p50 ms | p95 ms | p99 ms | error rate | replicas (Ingress/Retriever/Ranker) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in results:
            rep = r["replicas"]
            lines.append(
                f"| {r['concurrency']} | {r['requests']} | {r['throughput_rps']} | {r['p50_ms']} | {r['p95_ms']} | "
                f"{r['p99_ms']} | {r['error_rate']} | {rep.get('Ingress', '?')}/{rep.get('Retriever', '?')}/{rep.get('Ranker', '?')} |"
            )
        with args.append.open("a") as fh:
            fh.write("\n".join(lines) + "\n")
    if not args.url:
        from ray import serve

        serve.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
