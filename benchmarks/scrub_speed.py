"""Scrub throughput: N synthetic, valid encounters in one process, with NCCI edits loaded.

The code set is loaded (and the rule pack read) before the clock starts; the first scrub also warms
the per-code caches, so it runs outside the timing too. NCCI: by default an on-disk SQLite store is
built in a temporary directory with the fixture PTP/MUE rows plus ``--ptp-rows`` synthetic PTP pairs
(the real practitioner table is of the order of a million active rows); ``--store PATH`` uses an
imported store instead. Prints one JSON object:
``{"claims", "seconds", "claims_per_second", "ptp_rows", "mue_rows"}``.

    .venv/bin/python benchmarks/scrub_speed.py --claims 20000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from medcore.model import CodeSuggestion, Encounter, Patient, ProcedureLine, Sex
from medcore.refdata.releases import codeset_for
from rules import default_pack, scrub
from rules.ncci import NCCIStore, PTPEdit, read_mue, read_ptp

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ncci"

DOS = date(2026, 5, 1)
# clean claims an office would send: (codes, age, sex)
TEMPLATES = [
    (["E11.9", "I10", "Z79.84"], 58, Sex.male),
    (["S52.501A", "W19.XXXA"], 34, Sex.female),
    (["O80", "Z37.0"], 28, Sex.female),
    (["J06.9"], 7, Sex.male),
    (["E78.5", "I25.10", "Z95.5", "Z79.82"], 71, Sex.male),
    (["N40.0", "R35.1"], 66, Sex.male),
    (["Z00.129"], 4, Sex.female),
    (["M54.50", "G89.29", "F32.A"], 45, Sex.female),
]


def synthetic(n: int, seed: int = 7) -> list[Encounter]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        codes, age, sex = rng.choice(TEMPLATES)
        out.append(
            Encounter(
                encounter_id=f"bench-{i}",
                date_of_service=DOS,
                patient=Patient(age=age, sex=sex),
                diagnoses=[CodeSuggestion(code=c, rank=r) for r, c in enumerate(codes, start=1)],
                procedures=[
                    ProcedureLine(code="99213", modifiers=["25"], dx_pointers=list(range(1, min(len(codes), 4) + 1))),
                    ProcedureLine(code="20610", modifiers=["RT"]),
                    ProcedureLine(code="83036"),
                    ProcedureLine(code="36415"),
                ],
            )
        )
    return out


def build_store(path: Path, synthetic_rows: int, seed: int = 3) -> NCCIStore:
    store = NCCIStore(path)
    store.import_ptp(read_ptp(FIXTURES / "ptp_practitioner_sample.txt"))
    store.import_mue(read_mue(FIXTURES / "mue_practitioner_sample.csv"))
    rng = random.Random(seed)

    def rows():
        for _ in range(synthetic_rows):
            # numeric codes outside the ones the benchmark claims bill, so clean claims stay clean
            c1, c2 = (f"{rng.randrange(10000, 69999):05d}" for _ in range(2))
            if {c1, c2} & {"20610", "36415", "83036"}:
                continue
            yield PTPEdit(c1, c2, False, date(2015, 1, 1), None, rng.choice("01"), "synthetic")

    store.import_ptp(rows())
    return store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=10000)
    ap.add_argument("--ptp-rows", type=int, default=1_000_000, help="synthetic PTP rows added to the store")
    ap.add_argument("--store", type=Path, help="an imported NCCI store (ncci.sqlite) instead of a synthetic one")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    store = NCCIStore(args.store) if args.store else build_store(Path(tmp.name) / "ncci.sqlite", args.ptp_rows)
    codeset_for(DOS)
    pack = default_pack()
    encounters = synthetic(args.claims)
    for enc in synthetic(4 * len(TEMPLATES), seed=1):  # warm the per-code caches
        scrub(enc, pack=pack, ncci=store, today=DOS)
    findings = 0
    start = time.perf_counter()
    for enc in encounters:
        findings += len(scrub(enc, pack=pack, ncci=store, today=DOS))
    seconds = time.perf_counter() - start
    if findings:
        print(f"warning: {findings} findings on synthetic clean claims", file=sys.stderr)
    counts = store.counts()
    print(json.dumps({"claims": args.claims, "seconds": round(seconds, 3),
                      "claims_per_second": round(args.claims / seconds, 1),
                      "ptp_rows": counts["ptp"], "mue_rows": counts["mue"]}))


if __name__ == "__main__":
    main()
