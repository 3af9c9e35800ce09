"""Audit log throughput: append (events/s), verification (events/s) and random tamper trials.

    .venv/bin/python scripts/services.py up
    .venv/bin/python benchmarks/audit_throughput.py [--events 20000 --shards 16 --threads 1 --trials 10000]
                                                    [--append docs/BENCHMARKS.md]

Everything runs against DynamoDB Local, in a table of its own (deleted afterwards), from one process.

- ``append``: ``AuditLog.append_many`` of every shard's events from ``--threads`` threads; each
  transaction puts one block of up to 250 entries plus the conditional head update.
- ``append_buffered``: ``--buffered`` single events recorded one at a time from one thread through
  ``BufferedAuditLog`` (flush on size or time), timed until ``close()`` has flushed the last one.
- ``append_direct``: ``--direct`` single events, each ``AuditLog.append`` (a transaction of its own).
- ``verify_end_to_end``: the library's ``verify(log)``: parallel consistent Scan of the whole table
  (``--segments``), every entry's hash, seq, shard and link, block boundaries, TTLs and heads.
- ``verify_in_memory_checks`` and ``verify_hash_only``: the same checks, and SHA-256 alone, on items
  already fetched, to show where the time goes.
- ``tamper``: random tamperings of a copy of one shard's fetched items (blocks of 1 to 12 entries),
  each checked with ``verify_items`` with the shard's original head anchored as a digest would anchor
  it. Prints JSON.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audit import AuditConfig, AuditLog, verify  # noqa: E402
from audit.blocks import LINE_SEP, entry_line, split_line  # noqa: E402
from audit.entry import GENESIS_HASH  # noqa: E402
from audit.verify import verify_items  # noqa: E402
from medcore.model import AuditAction, AuditEvent  # noqa: E402

DAY = datetime(2026, 4, 1, 8, tzinfo=UTC)


def make_events(tenant: str, n: int, at: datetime = DAY) -> list[AuditEvent]:
    actions = list(AuditAction)
    return [
        AuditEvent(
            tenant_id=tenant, actor=f"coder-{i % 5}@clinic.example", action=actions[i % len(actions)],
            resource_type="Encounter", resource_id=f"enc-{i:06d}", source="bench",
            at=at + timedelta(milliseconds=i), detail={"stage": "code", "mrn": AuditEvent.pseudonymize(f"M{i}")},
        )
        for i in range(n)
    ]


def scan_all(log: AuditLog, segments: int) -> list[dict]:
    client, table = log.models.client, log.config.table_name

    def segment(n: int) -> list[dict]:
        items, kwargs = [], {"TableName": table, "Segment": n, "TotalSegments": segments, "ConsistentRead": True}
        while True:
            page = client.scan(**kwargs)
            items += page["Items"]
            if not page.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    with ThreadPoolExecutor(segments) as pool:
        return [i for part in pool.map(segment, range(segments)) for i in part]


def by_shard(items: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in items:
        out.setdefault(item["shard"]["S"], []).append(item)
    return out


def hash_only(groups: dict[str, list[dict]]) -> int:
    n = 0
    for items in groups.values():
        for raw in items:
            if raw["seq"]["N"] == "0":
                continue
            for line in raw["entries"]["S"].split(LINE_SEP):
                digest, prev, text = split_line(line)
                if hashlib.sha256((text + prev).encode()).hexdigest() != digest:
                    raise AssertionError(text[:40])
                n += 1
    return n


# tamper trials -------------------------------------------------------------------------------------

KINDS = ("modify", "delete", "delete_block", "insert", "append_forged", "swap", "swap_blocks", "reseq", "rekey",
         "rewrite", "rehash", "truncate", "truncate_head", "head_hash", "drop_head", "ttl", "head_ttl")


def _one_off(value: str, at: int) -> str:
    return value[:at] + ("0" if value[at] != "0" else "1") + value[at + 1 :]


def _sha(text: str, prev: str) -> str:
    return hashlib.sha256((text + prev).encode()).hexdigest()


def _with_actor(text: str, actor: str = "intruder@example") -> str:
    body = json.loads(text)
    body["actor"] = actor
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _reseq(text: str, seq: int) -> str:
    body = json.loads(text)
    body["seq"] = seq
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def tamper(items: list[dict], rng: random.Random) -> tuple[str, list[dict]]:
    """One random tampering of a copy of one shard's raw items (head plus blocks)."""
    items = copy.deepcopy(items)
    head = next(i for i in items if i["seq"]["N"] == "0")
    blocks = sorted((i for i in items if i["seq"]["N"] != "0"), key=lambda i: int(i["seq"]["N"]))
    lines = [b["entries"]["S"].split(LINE_SEP) for b in blocks]
    flat = [(b, j) for b in range(len(blocks)) for j in range(len(lines[b]))]  # entry k -> (block, line)
    n = len(flat)
    k = rng.randrange(n)
    bk, lk = flat[k]
    how = rng.choice(KINDS)
    if how == "swap" and len(lines[bk]) < 2:
        how = "swap_blocks"
    if how == "swap_blocks" and len(blocks) < 2:
        how = "modify"
    if how == "modify":
        part = rng.choice(["text", "hash", "prev_hash"])
        line = lines[bk][lk]
        at = {"text": rng.randrange(135, len(line)), "hash": rng.randrange(64), "prev_hash": rng.randrange(65, 129)}[part]
        if line[at] in '{}":,':  # keep it an edit of a value, not of the syntax
            at = 3
        lines[bk][lk] = _one_off(line, at)
    elif how == "delete":
        lines[bk].pop(lk)
    elif how == "delete_block":
        lines[bk] = []
    elif how == "insert":
        digest, prev, text = split_line(lines[bk][lk])
        forged = _with_actor(text)
        lines[bk].insert(lk, entry_line(_sha(forged, prev), prev, forged))
    elif how == "append_forged":
        digest, _prev, text = split_line(lines[-1][-1])
        forged = _reseq(text, n + 1)
        blocks.append({"shard": blocks[-1]["shard"], "seq": {"N": str(n + 1)}, "ttl": blocks[-1]["ttl"]})
        lines.append([entry_line(_sha(forged, digest), digest, forged)])
    elif how == "swap":
        j = lk + 1 if lk + 1 < len(lines[bk]) else lk - 1
        lines[bk][lk], lines[bk][j] = lines[bk][j], lines[bk][lk]
    elif how == "swap_blocks":
        other = (bk + 1) % len(blocks)
        lines[bk], lines[other] = lines[other], lines[bk]
    elif how == "reseq":
        blocks[bk]["seq"] = {"N": f"{blocks[bk]['seq']['N']}.5"}
    elif how == "rekey":
        blocks[bk]["seq"] = {"N": str(int(blocks[bk]["seq"]["N"]) + 1)}
        if bk + 1 < len(blocks) and blocks[bk + 1]["seq"] == blocks[bk]["seq"]:
            how = "delete_block"  # moving onto the next block's key overwrites it: a deleted block
            blocks.pop(bk + 1)
            lines.pop(bk + 1)
    elif how == "rehash":
        _digest, prev, text = split_line(lines[bk][lk])
        forged = _with_actor(text)
        lines[bk][lk] = entry_line(_sha(forged, prev), prev, forged)
    elif how == "rewrite":  # a consistent rewrite from entry k on, head included: only the anchor shows it
        prev = split_line(lines[flat[k - 1][0]][flat[k - 1][1]])[0] if k else GENESIS_HASH
        for b, j in flat[k:]:
            _d, _p, text = split_line(lines[b][j])
            if (b, j) == (bk, lk):
                text = _with_actor(text)
            digest = _sha(text, prev)
            lines[b][j] = entry_line(digest, prev, text)
            prev = digest
        head["last_hash"] = {"S": prev}
    elif how in ("truncate", "truncate_head"):  # entries 1..k stay
        lines[bk] = lines[bk][:lk]
        for b in range(bk + 1, len(blocks)):
            lines[b] = []
        if how == "truncate_head":  # the intruder moves the head back consistently
            if k:
                pb, pl = flat[k - 1]
                head["last_seq"] = {"N": str(k)}
                head["last_hash"] = {"S": split_line(lines[pb][pl])[0]}
            else:
                head = None
    elif how == "head_hash":
        head["last_hash"] = {"S": _one_off(head["last_hash"]["S"], 63)}
    elif how == "drop_head":
        head = None
    elif how == "ttl":
        blocks[bk]["ttl"] = {"N": str(int((datetime.now(UTC) + timedelta(days=400)).timestamp()))}
    elif how == "head_ttl":
        head["ttl"] = {"N": str(int((datetime.now(UTC) + timedelta(days=400)).timestamp()))}
    out = [] if head is None else [head]
    for block, block_lines in zip(blocks, lines, strict=True):
        if block_lines:  # a block left with no entries is a deleted item
            out.append(block | {"entries": {"S": LINE_SEP.join(block_lines)}})
    return how, out


def trials(items: list[dict], shard: str, count: int, seed: int) -> dict:
    rng = random.Random(seed)
    head = next(i for i in items if i["seq"]["N"] == "0")
    anchored = {int(head["last_seq"]["N"]): head["last_hash"]["S"]}
    checked, bad = verify_items(None, shard, items, anchored)
    assert bad is None, bad
    undetected: dict[str, int] = {}
    kinds: dict[str, int] = {}
    t0 = time.perf_counter()
    for _ in range(count):
        how, tampered = tamper(items, rng)
        kinds[how] = kinds.get(how, 0) + 1
        if verify_items(None, shard, tampered, anchored)[1] is None:
            undetected[how] = undetected.get(how, 0) + 1
    return {"trials": count, "undetected": sum(undetected.values()), "undetected_by_kind": undetected,
            "kinds": dict(sorted(kinds.items())), "chain_length": checked, "blocks": len(items) - 1,
            "seconds": round(time.perf_counter() - t0, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1, help="append threads (one process)")
    ap.add_argument("--segments", type=int, default=8, help="verify's parallel Scan segments")
    ap.add_argument("--buffered", type=int, default=5000, help="single events through BufferedAuditLog")
    ap.add_argument("--direct", type=int, default=300, help="single events, one transaction each")
    ap.add_argument("--trials", type=int, default=10000)
    ap.add_argument("--trial-chain", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--append", type=Path, help="append a Markdown section to this file")
    args = ap.parse_args()

    config = AuditConfig.from_settings(table_name=f"medcode-bench-{uuid.uuid4().hex[:8]}",
                                       verify_segments=args.segments)
    log = AuditLog(config)
    log.ensure_table()
    load_before = os.getloadavg()
    out: dict = {"events": args.events, "shards": args.shards, "threads": args.threads,
                 "store": f"DynamoDB Local at {config.endpoint}", "cpus": os.cpu_count(),
                 "loadavg_before": [round(x, 2) for x in load_before]}
    try:
        per = args.events // args.shards
        batches = {f"bench-{s:03d}": make_events(f"bench-{s:03d}", per) for s in range(args.shards)}
        tenants = list(batches)
        groups = [tenants[i :: args.threads] for i in range(args.threads)]

        def write(group: list[str]) -> int:
            return sum(len(log.append_many(batches[t])) for t in group)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            written = sum(pool.map(write, groups))
        dt = time.perf_counter() - t0
        out["append"] = {"events": written, "seconds": round(dt, 2), "events_per_s": round(written / dt),
                         "transactions": sum(-(-per // config.batch_size) for _ in tenants)}

        # single events, one call each, from one thread: through the buffer, then directly
        single_day = DAY + timedelta(days=1)
        singles = [e for s in range(args.shards) for e in make_events(f"bench-{s:03d}", args.buffered // args.shards,
                                                                       at=single_day)]
        random.Random(args.seed).shuffle(singles)  # interleaved tenants, as requests arrive
        t0 = time.perf_counter()
        with log.buffered() as buffered:
            for event in singles:
                buffered.append(event)
        dt = time.perf_counter() - t0
        out["append_buffered"] = {"events": buffered.appended, "seconds": round(dt, 2),
                                  "events_per_s": round(buffered.appended / dt)}
        direct = make_events("bench-direct", args.direct)
        t0 = time.perf_counter()
        for event in direct:
            log.append(event)
        dt = time.perf_counter() - t0
        out["append_direct"] = {"events": len(direct), "seconds": round(dt, 2), "events_per_s": round(len(direct) / dt)}
        total = written + buffered.appended + len(direct)

        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            report = verify(log)
            runs.append(time.perf_counter() - t0)
            assert report.ok and report.events_checked == total, report.first_bad
        out["verify_end_to_end"] = {"events": total, "segments": args.segments,
                                    "seconds_runs": [round(x, 3) for x in runs],
                                    "events_per_s_best": round(total / min(runs)),
                                    "events_per_s_median": round(total / sorted(runs)[1])}

        t0 = time.perf_counter()
        items = scan_all(log, args.segments)
        t_scan = time.perf_counter() - t0
        shards = by_shard(items)
        t1 = time.perf_counter()
        checked = 0
        for shard, shard_items in shards.items():
            n, bad = verify_items(None, shard, shard_items)
            assert bad is None, bad
            checked += n
        t_check = time.perf_counter() - t1
        out["scan_only"] = {"items": len(items), "seconds": round(t_scan, 3)}
        out["verify_in_memory_checks"] = {"events_per_s": round(checked / t_check)}
        t0 = time.perf_counter()
        hashed = hash_only(shards)
        out["verify_hash_only"] = {"events_per_s": round(hashed / (time.perf_counter() - t0))}

        # a trial chain of blocks of 1 to 12 entries
        rng = random.Random(args.seed)
        trial_events = make_events("bench-trials", args.trial_chain)
        at = 0
        while at < len(trial_events):
            size = rng.randint(1, 12)
            log.append_many(trial_events[at : at + size])
            at += size
        trial_shard = f"bench-trials#{DAY.date().isoformat()}"
        trial_items = [i for i in items_of(log, trial_shard)]
        out["tamper"] = trials(trial_items, trial_shard, args.trials, args.seed)
        out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        log.delete_table()

    text = json.dumps(out, indent=2)
    print(text)
    if args.append:
        cmd = "python benchmarks/audit_throughput.py " + " ".join(sys.argv[1:])
        with args.append.open("a") as fh:
            fh.write(f"\n## Audit log throughput ({datetime.now(UTC):%Y-%m-%d})\n\n"
                     f"`{cmd}` (DynamoDB Local, one process, {os.cpu_count()} CPU cores)\n\n```json\n{text}\n```\n")
    return 0 if out["tamper"]["undetected"] == 0 else 1


def items_of(log: AuditLog, shard: str) -> list[dict]:
    page = log.models.client.query(
        TableName=log.config.table_name, KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "shard"}, ExpressionAttributeValues={":s": {"S": shard}}, ConsistentRead=True,
    )
    return page["Items"]


if __name__ == "__main__":
    raise SystemExit(main())
