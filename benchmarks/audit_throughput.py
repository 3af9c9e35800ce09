"""Audit log throughput: append (events/s), verification (events/s) and random tamper trials.

    .venv/bin/python scripts/services.py up
    .venv/bin/python benchmarks/audit_throughput.py [--events 20000 --shards 8 --threads 8 --trials 10000]
                                                    [--append docs/BENCHMARKS.md]

Appends go to DynamoDB Local in a table of their own (deleted afterwards), from one process: one
thread per group of shards, each batch one TransactWriteItems of 99 events plus the head update.
Verification is measured four ways: the library's ``verify`` (consistent Query per shard, serial);
a parallel segmented Scan fetching every item, then ``verify_items`` per shard (end to end); the
same checks on items already in memory; and the hash chain alone (canonical JSON + SHA-256).
Tamper trials run in memory on fetched items through ``verify_items`` (the same checks), with the
shard's original head anchored as a digest would anchor it. Prints JSON.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from audit import AuditConfig, AuditLog, verify  # noqa: E402
from audit.entry import EVENT_FIELDS, GENESIS_HASH, entry_hash  # noqa: E402
from audit.verify import verify_items  # noqa: E402
from medcore.model import AuditAction, AuditEvent  # noqa: E402

DAY = datetime(2026, 4, 1, 8, tzinfo=UTC)


def make_events(tenant: str, n: int) -> list[AuditEvent]:
    actions = list(AuditAction)
    return [
        AuditEvent(
            tenant_id=tenant, actor=f"coder-{i % 5}@clinic.example", action=actions[i % len(actions)],
            resource_type="Encounter", resource_id=f"enc-{i:06d}", source="bench",
            at=DAY + timedelta(milliseconds=i), detail={"stage": "code", "mrn": AuditEvent.pseudonymize(f"M{i}")},
        )
        for i in range(n)
    ]


def fields_of(raw: dict) -> dict:
    out = {name: raw[name]["S"] for name in EVENT_FIELDS if name != "detail"}
    out["detail"] = {k: v["S"] for k, v in raw["detail"]["M"].items()}
    return out


def scan_all(config: AuditConfig, segments: int) -> list[dict]:
    client = boto3.client("dynamodb", endpoint_url=config.endpoint, region_name=config.region,
                          **config.credentials())

    def segment(n: int) -> list[dict]:
        items, start = [], None
        while True:
            kwargs = {"TableName": config.table_name, "Segment": n, "TotalSegments": segments}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = client.scan(**kwargs)
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    with ThreadPoolExecutor(segments) as pool:
        return [i for part in pool.map(segment, range(segments)) for i in part]


def by_shard(items: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in items:
        out.setdefault(item["shard"]["S"], []).append(item)
    return out


def hash_only(groups: dict[str, list[dict]]) -> int:
    n = 0
    for shard, items in groups.items():
        prev = GENESIS_HASH
        for raw in sorted((i for i in items if i["seq"]["N"] != "0"), key=lambda i: int(i["seq"]["N"])):
            digest = entry_hash(fields_of(raw), shard, int(raw["seq"]["N"]), prev)
            if digest != raw["hash"]["S"]:
                raise AssertionError(f"{shard} {raw['seq']['N']}")
            prev = digest
            n += 1
    return n


# tamper trials -------------------------------------------------------------------------------------

def _one_off(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


def tamper(items: list[dict], shard: str, rng: random.Random) -> tuple[str, list[dict]]:
    """One random tampering of a copy of ``items`` (events 1..n plus the head at index 0)."""
    items = copy.deepcopy(items)
    head = next(i for i in items if i["seq"]["N"] == "0")
    events = sorted((i for i in items if i["seq"]["N"] != "0"), key=lambda i: int(i["seq"]["N"]))
    n = len(events)
    k = rng.randrange(n)
    how = rng.choice(["modify", "delete", "swap", "truncate", "truncate_head", "rehash", "rewrite",
                      "ttl", "append_forged", "head_hash", "reseq", "drop_head"])
    if how == "modify":
        name = rng.choice([*EVENT_FIELDS, "prev_hash", "hash"])
        if name == "detail":
            events[k]["detail"]["M"]["stage"] = {"S": "edited"}
        elif name == "action":
            events[k]["action"] = {"S": "export" if events[k]["action"]["S"] != "export" else "read"}
        else:
            events[k][name] = {"S": _one_off(events[k][name]["S"])}
    elif how == "delete":
        events.pop(k)
    elif how == "swap" and n > 1:
        j = (k + 1) % n
        events[k]["seq"], events[j]["seq"] = events[j]["seq"], events[k]["seq"]
    elif how in ("truncate", "truncate_head"):
        keep = k  # events 1..k stay
        events = events[:keep]
        if how == "truncate_head":  # the intruder moves the head back consistently
            if keep:
                head["last_seq"] = {"N": str(keep)}
                head["last_hash"] = {"S": events[-1]["hash"]["S"]}
            else:
                head = None
    elif how == "rehash":
        fields = fields_of(events[k]) | {"actor": "intruder@example"}
        events[k]["actor"] = {"S": "intruder@example"}
        events[k]["hash"] = {"S": entry_hash(fields, shard, k + 1, events[k]["prev_hash"]["S"])}
    elif how == "rewrite":  # a consistent rewrite from k on, head included: only the anchor shows it
        prev = events[k - 1]["hash"]["S"] if k else GENESIS_HASH
        for j in range(k, n):
            fields = fields_of(events[j])
            if j == k:
                fields["actor"] = "intruder@example"
                events[j]["actor"] = {"S": "intruder@example"}
            events[j]["prev_hash"] = {"S": prev}
            prev = entry_hash(fields, shard, j + 1, prev)
            events[j]["hash"] = {"S": prev}
        head["last_hash"] = {"S": prev}
    elif how == "ttl":
        events[k]["ttl"] = {"N": str(int((datetime.now(UTC) + timedelta(days=400)).timestamp()))}
    elif how == "append_forged":
        last = events[-1]
        forged = copy.deepcopy(last) | {"seq": {"N": str(n + 1)}, "prev_hash": {"S": last["hash"]["S"]}}
        forged["hash"] = {"S": entry_hash(fields_of(forged), shard, n + 1, last["hash"]["S"])}
        events.append(forged)
    elif how == "head_hash":
        head["last_hash"] = {"S": _one_off(head["last_hash"]["S"])}
    elif how == "reseq":
        events[k]["seq"] = {"N": f"{k + 1}.5"}
    elif how == "drop_head":
        head = None
    else:  # swap on a one-event chain: modify instead
        events[k]["source"] = {"S": "edited"}
        how = "modify"
    return how, ([head] if head else []) + events


def trials(log: AuditLog, items: list[dict], shard: str, count: int, seed: int) -> dict:
    rng = random.Random(seed)
    head = next(i for i in items if i["seq"]["N"] == "0")
    anchored = {int(head["last_seq"]["N"]): head["last_hash"]["S"]}
    assert verify_items(log.models, shard, items, anchored)[1] is None
    undetected: dict[str, int] = {}
    kinds: dict[str, int] = {}
    t0 = time.perf_counter()
    for _ in range(count):
        how, tampered = tamper(items, shard, rng)
        kinds[how] = kinds.get(how, 0) + 1
        if verify_items(log.models, shard, tampered, anchored)[1] is None:
            undetected[how] = undetected.get(how, 0) + 1
    return {"trials": count, "undetected": sum(undetected.values()), "undetected_by_kind": undetected,
            "kinds": kinds, "chain_length": len(items) - 1, "seconds": round(time.perf_counter() - t0, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--segments", type=int, default=8)
    ap.add_argument("--trials", type=int, default=10000)
    ap.add_argument("--trial-chain", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--append", type=Path, help="append a Markdown section to this file")
    args = ap.parse_args()

    config = AuditConfig.from_settings(table_name=f"medcode-bench-{uuid.uuid4().hex[:8]}")
    log = AuditLog(config)
    log.ensure_table()
    out: dict = {"events": args.events, "shards": args.shards, "threads": args.threads,
                 "store": f"DynamoDB Local at {config.endpoint}"}
    try:
        per = args.events // args.shards
        batches = {f"bench-{s:03d}": make_events(f"bench-{s:03d}", per) for s in range(args.shards)}
        tenants = list(batches)
        groups = [tenants[i :: args.threads] for i in range(args.threads)]

        def write(group: list[str]) -> int:
            mine = AuditLog(config)
            return sum(len(mine.append_many(batches[t])) for t in group)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            written = sum(pool.map(write, groups))
        dt = time.perf_counter() - t0
        out["append"] = {"events": written, "seconds": round(dt, 2), "events_per_s": round(written / dt)}

        t0 = time.perf_counter()
        report = verify(log)
        dt = time.perf_counter() - t0
        assert report.ok and report.events_checked == written, report.first_bad
        out["verify_library_serial_query"] = {"seconds": round(dt, 2), "events_per_s": round(written / dt)}

        t0 = time.perf_counter()
        items = scan_all(config, args.segments)
        t_scan = time.perf_counter() - t0
        shards = by_shard(items)
        t1 = time.perf_counter()
        checked = 0
        for shard, shard_items in shards.items():
            n, bad = verify_items(log.models, shard, shard_items)
            assert bad is None, bad
            checked += n
        t_check = time.perf_counter() - t1
        out["verify_scan_end_to_end"] = {
            "segments": args.segments, "scan_seconds": round(t_scan, 2), "check_seconds": round(t_check, 2),
            "events_per_s": round(checked / (t_scan + t_check)),
        }
        out["verify_in_memory_full_checks"] = {"events_per_s": round(checked / t_check)}
        t0 = time.perf_counter()
        hashed = hash_only(shards)
        out["verify_hash_only"] = {"events_per_s": round(hashed / (time.perf_counter() - t0))}

        trial_tenant = "bench-trials"
        log.append_many(make_events(trial_tenant, args.trial_chain))
        trial_shard = f"{trial_tenant}#{DAY.date().isoformat()}"
        trial_items = [i for i in scan_all(config, 2) if i["shard"]["S"] == trial_shard]
        out["tamper"] = trials(log, trial_items, trial_shard, args.trials, args.seed)
    finally:
        log.delete_table()

    text = json.dumps(out, indent=2)
    print(text)
    if args.append:
        cmd = "python benchmarks/audit_throughput.py " + " ".join(sys.argv[1:])
        with args.append.open("a") as fh:
            fh.write(f"\n## Audit log throughput ({datetime.now(UTC):%Y-%m-%d})\n\n"
                     f"`{cmd}` (DynamoDB Local, one process, 2 CPU cores)\n\n```json\n{text}\n```\n")
    return 0 if out["tamper"]["undetected"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
