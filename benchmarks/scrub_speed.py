"""Scrub throughput: N synthetic, valid encounters in one process.

The code set is loaded (and the rule pack read) before the clock starts; the first scrub also warms
the per-code caches, so it runs outside the timing too. Prints one JSON object:
``{"claims", "seconds", "claims_per_second"}``.

    .venv/bin/python benchmarks/scrub_speed.py --claims 20000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date

from medcore.model import CodeSuggestion, Encounter, Patient, ProcedureLine, Sex
from medcore.refdata.releases import codeset_for
from rules import default_pack, scrub

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
                procedures=[ProcedureLine(code="99213", dx_pointers=list(range(1, min(len(codes), 4) + 1)))],
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=10000)
    args = ap.parse_args()
    codeset_for(DOS)
    pack = default_pack()
    encounters = synthetic(args.claims)
    for enc in synthetic(4 * len(TEMPLATES), seed=1):  # warm the per-code caches
        scrub(enc, pack=pack)
    findings = 0
    start = time.perf_counter()
    for enc in encounters:
        findings += len(scrub(enc, pack=pack))
    seconds = time.perf_counter() - start
    if findings:
        print(f"warning: {findings} findings on synthetic clean claims", file=sys.stderr)
    print(json.dumps({"claims": args.claims, "seconds": round(seconds, 3),
                      "claims_per_second": round(args.claims / seconds, 1)}))


if __name__ == "__main__":
    main()
