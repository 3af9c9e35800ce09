"""``medcode eval assertion``: score assertion detection on the ConText-format TSV.

Columns: id, concept, sentence, negation (Affirmed|Negated), temporality (Recent|Historical|Not
particular), experiencer (Patient|Family member|Other). "Not particular" counts as hypothetical.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from serving.pipeline.assertion import AssertionFlags, assess, locate

LABELS = ("negated", "historical", "hypothetical", "other_experiencer")
REQUIRED = ("id", "concept", "sentence", "negation", "temporality", "experiencer")


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows:
        raise ValueError(f"{path}: no rows")
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    return rows


def gold_labels(row: dict[str, str]) -> dict[str, bool]:
    return {
        "negated": row["negation"].strip().lower() == "negated",
        "historical": row["temporality"].strip().lower() == "historical",
        "hypothetical": row["temporality"].strip().lower() == "not particular",
        "other_experiencer": row["experiencer"].strip().lower() != "patient",
    }


def predict(row: dict[str, str]) -> dict[str, bool]:
    span = locate(row["concept"], row["sentence"])
    f = assess(row["sentence"], [span])[0] if span else AssertionFlags()
    return {"negated": f.negated, "historical": f.historical, "hypothetical": f.hypothetical,
            "other_experiencer": f.family}


def prf(pairs: list[tuple[bool, bool]]) -> dict:
    tp = sum(1 for g, p in pairs if g and p)
    fp = sum(1 for g, p in pairs if p and not g)
    fn = sum(1 for g, p in pairs if g and not p)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "support": tp + fn}


def run(path: Path, predictions: Path | None = None) -> dict:
    rows = read_tsv(path)
    preds = [predict(r) for r in rows]
    golds = [gold_labels(r) for r in rows]
    if predictions is not None:
        predictions.parent.mkdir(parents=True, exist_ok=True)
        with predictions.open("w") as fh:
            for r, p in zip(rows, preds, strict=True):
                fh.write(json.dumps({"id": r["id"], **p}) + "\n")
    out: dict = {k: prf([(g[k], p[k]) for g, p in zip(golds, preds, strict=True)]) for k in LABELS}
    out["sentences"] = len(rows)
    return out
