"""Precision and recall of the scrubber on the planted-error fixture set (tests/fixtures/scrub).

Each claim in ``manifest.json`` lists the rule IDs expected to fire (none for a clean claim). A finding
is a true positive when its rule ID is among the claim's expected ones, a false positive otherwise;
an expected rule ID with no finding is a false negative. Repeated findings of one expected rule on a
claim count once. The NCCI fixtures named in the manifest are loaded into an in-memory store, and the
local eligibility simulator answers 270/271 inquiries. Prints one JSON object;
``--append docs/BENCHMARKS.md`` also appends a Markdown section.

    .venv/bin/python benchmarks/scrub_eval.py --append docs/BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

from medcore.model import Encounter
from rules import load_pack, scrub
from rules.eligibility import LocalEligibilitySimulator
from rules.ncci import NCCIStore, read_mue, read_ptp

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "fixtures" / "scrub" / "manifest.json"


def load_store(manifest: Path, data: dict) -> NCCIStore:
    store = NCCIStore(None)
    store.import_ptp(read_ptp(manifest.parent / data["ncci"]["ptp"]))
    store.import_mue(read_mue(manifest.parent / data["ncci"]["mue"]))
    return store


def run(manifest: Path = MANIFEST) -> dict:
    """Scrub every claim in the manifest; return the counts, scores and per-claim mismatches."""
    data = json.loads(manifest.read_text())
    defaults = data.get("defaults", {})
    store = load_store(manifest, data)
    packs: dict[str, object] = {}
    simulator = LocalEligibilitySimulator()
    tp = fp = fn = 0
    per_rule: Counter[str] = Counter()
    mismatches = []
    errors_on_clean = 0
    start = time.perf_counter()
    for claim in data["claims"]:
        opts = {**defaults, **{k: v for k, v in claim.items() if k not in ("file", "expected")}}
        pack_name = opts["pack"]
        if pack_name not in packs:
            packs[pack_name] = load_pack(pack_name)
        enc = Encounter.model_validate_json((manifest.parent / claim["file"]).read_text())
        findings = scrub(
            enc,
            pack=packs[pack_name],
            today=date.fromisoformat(opts["today"]),
            ncci=store,
            eligibility=simulator if opts.get("eligibility") == "simulator" else None,
        )
        expected = set(claim["expected"])
        found = {f.rule_id for f in findings}
        tp += len(found & expected)
        fp += len(found - expected)
        fn += len(expected - found)
        per_rule.update(found & expected)
        if not expected:
            errors_on_clean += sum(f.severity.value == "error" for f in findings)
        if found != expected:
            mismatches.append({"file": claim["file"], "expected": sorted(expected), "found": sorted(found)})
    seconds = time.perf_counter() - start
    planted = [c for c in data["claims"] if c["expected"]]
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {
        "claims": len(data["claims"]),
        "planted_claims": len(planted),
        "clean_claims": len(data["claims"]) - len(planted),
        "rules_planted": len({r for c in planted for r in c["expected"]}),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "error_findings_on_clean_claims": errors_on_clean,
        "seconds": round(seconds, 3),
        "per_rule_tp": dict(sorted(per_rule.items())),
        "mismatches": mismatches,
    }


def _markdown(result: dict, command: str) -> str:
    lines = [
        f"## Scrub precision/recall ({date.today().isoformat()})",
        "",
        f"Command: `{command}`",
        "",
        "| claims | planted | clean | rules planted | TP | FP | FN | precision | recall | errors on clean |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {result['claims']} | {result['planted_claims']} | {result['clean_claims']} | {result['rules_planted']} "
        f"| {result['tp']} | {result['fp']} | {result['fn']} | {result['precision']} | {result['recall']} "
        f"| {result['error_findings_on_clean_claims']} |",
        "",
        "Fixture set: `tests/fixtures/scrub/manifest.json` (fictional encounters; NCCI fixtures are "
        "illustrative rows in the CMS layouts). Targets: recall ≥ 0.98, precision ≥ 0.95.",
        "",
    ]
    if result["mismatches"]:
        lines += ["Mismatches:", ""] + [f"- `{m['file']}`: expected {m['expected']}, found {m['found']}"
                                        for m in result["mismatches"]] + [""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", type=Path, default=MANIFEST)
    ap.add_argument("--append", type=Path, help="append a Markdown section to this file")
    args = ap.parse_args()
    result = run(args.manifest)
    print(json.dumps(result, indent=2))
    if args.append:
        command = ".venv/bin/python benchmarks/scrub_eval.py " + " ".join(sys.argv[1:])
        with open(args.append, "a") as fh:
            fh.write("\n" + _markdown(result, command.strip()))


if __name__ == "__main__":
    main()
