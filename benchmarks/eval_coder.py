"""Coding and assertion accuracy, with the peers, in one run on the same cases.

    .venv/bin/python benchmarks/eval_coder.py [--cases DIR] [--assertion TSV] [--append docs/BENCHMARKS.md]

Runs, on the same inputs:
- medcode's coder with hybrid retrieval (BM25 + MiniLM/FAISS) and with BM25 alone;
- a BM25-only baseline: the same mentions and assertion filter, the top BM25 document's code, no ranker;
- the ``icd10-coder`` package's lookup as a peer, behind the same mentions and assertion filter;
- medcode's assertion detection and medspaCy 1.3.1 ConText with the concept added as a target rule
  (the baseline GUIDE.md describes), counting the sentences where its target matcher finds nothing.

Prints one JSON object; ``--append`` also appends a dated Markdown section to the given file.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from serving.evaluation import assertion as assertion_eval  # noqa: E402
from serving.evaluation import notes as notes_eval  # noqa: E402
from serving.pipeline.coder import Coder, CodingResult  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"


def _front_end_baseline(cases: list[dict], lookup) -> dict:
    """medcode's front end (sections, mentions, assertion filter) with ``lookup(queries) -> codes``
    (one code or None per query) as the whole coder: no ranker, no guidelines, no thresholds."""
    from medcore.model import CodeSuggestion
    from medcore.refdata.releases import codeset_for
    from serving.pipeline.assertion import assess
    from serving.pipeline.coder import allowed
    from serving.pipeline.mentions import extract
    from serving.pipeline.sections import NON_DIAGNOSTIC_ROLES

    results = []
    start = time.perf_counter()
    for case in cases:
        enc = notes_eval.case_to_encounter(case)
        cs = codeset_for(enc.date_of_service)
        text = enc.notes[0].text
        ms = [m for m in extract(text) if m.role not in NON_DIAGNOSTIC_ROLES and m.primary]
        flags = assess(text, [(m.start, m.end) for m in ms])
        keep = [m for m, f in zip(ms, flags, strict=True) if allowed(f, enc.setting)[0]]
        codes: list[str] = []
        for code in lookup(cs, [m.query() for m in keep]):
            if code and code not in codes:
                codes.append(code)
        results.append(CodingResult(encounter_id=enc.encounter_id, code_set=cs.release, codes=[
            CodeSuggestion(code=c, rank=i + 1) for i, c in enumerate(codes)]))
    return notes_eval.score(cases, results, time.perf_counter() - start)


def bm25_only(cases: list[dict]) -> dict:
    """The coder's front end with the plain BM25 top document as the answer."""
    coder = Coder(dense=False)

    def lookup(cs, queries):
        bm25 = coder.retriever(cs).bm25
        return [bm25.docs[h[0][0]].code if h else None for h in bm25.search(queries, k=1)]

    return _front_end_baseline(cases, lookup)


def icd10_coder_peer(cases: list[dict]) -> dict:
    """The same front end with the ``icd10-coder`` package's lookup (its FY2025 SQLite full-text
    search over code titles: exact title, then phrase, AND, OR) giving the first billable code."""
    import sqlite3

    from icd10_coder import coder as icd10c

    conn = sqlite3.connect(icd10c.CM_DB)

    def lookup(cs, queries):
        out = []
        for q in queries:
            rows = icd10c.cm_search(conn, q, limit=20)
            out.append(next((code for code, _title, billable in rows if billable), None))
        return out

    try:
        return _front_end_baseline(cases, lookup)
    finally:
        conn.close()


def retrieval_and_calibration(cases: list[dict], coder: Coder) -> dict:
    """Recall of the gold codes among all retrieved candidates (k per mention), and the expected
    calibration error of the suggested codes' confidence (10 equal-width bins)."""
    found = total = 0
    pairs: list[tuple[float, bool]] = []
    for case in cases:
        coder.candidate_log = set()
        res = coder.code(notes_eval.case_to_encounter(case))
        gold = {g.replace(".", "") for g in case["gold"]["icd10cm"]}
        optional = {g.replace(".", "") for g in case["gold"].get("optional", [])}
        cands = {c.replace(".", "") for c in coder.candidate_log}
        found += len(gold & cands)
        total += len(gold)
        for c in res.codes:
            code = c.code.replace(".", "")
            if code not in optional:
                pairs.append((c.confidence, code in gold))
    coder.candidate_log = None
    ece = 0.0
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        inbin = [(p, y) for p, y in pairs if lo <= p < hi or (b == 9 and p == 1.0)]
        if inbin:
            conf = sum(p for p, _ in inbin) / len(inbin)
            acc = sum(y for _, y in inbin) / len(inbin)
            ece += len(inbin) / len(pairs) * abs(conf - acc)
    return {"gold_recall_in_candidates": round(found / total, 4) if total else None,
            "k_per_mention": coder.settings.retrieval_k, "ece": round(ece, 4), "scored_codes": len(pairs)}


def medspacy_baseline(rows: list[dict[str, str]]) -> dict:
    import medspacy
    from loguru import logger
    from medspacy.ner import TargetRule

    logger.disable("PyRuSH")
    pairs: dict[str, list[tuple[bool, bool]]] = {k: [] for k in assertion_eval.LABELS}
    not_found = 0
    for r in rows:
        nlp = medspacy.load(medspacy_enable=["medspacy_pyrush", "medspacy_target_matcher", "medspacy_context"])
        nlp.get_pipe("medspacy_target_matcher").add([TargetRule(r["concept"], "CONCEPT")])
        doc = nlp(r["sentence"])
        ents = list(doc.ents)
        if not ents:
            not_found += 1
        e = ents[0] if ents else None
        pred = {
            "negated": bool(e is not None and e._.is_negated),
            "historical": bool(e is not None and e._.is_historical),
            "hypothetical": bool(e is not None and e._.is_hypothetical),
            "other_experiencer": bool(e is not None and e._.is_family),
        }
        gold = assertion_eval.gold_labels(r)
        for k in assertion_eval.LABELS:
            pairs[k].append((gold[k], pred[k]))
    out: dict = {k: assertion_eval.prf(v) for k, v in pairs.items()}
    out["target_not_found"] = not_found
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=Path, default=SHARED / "notes-dev")
    ap.add_argument("--assertion", type=Path, default=SHARED / "assertion" / "context_dev.tsv")
    ap.add_argument("--append", type=Path)
    ap.add_argument("--skip-assertion", action="store_true",
                    help="coding only (the assertion comparison does not depend on --cases)")
    args = ap.parse_args()

    report: dict = {"when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": f"{platform.machine()}, {platform.python_version()}"}
    cases = [json.loads(p.read_text()) for p in sorted(args.cases.glob("*.json"))]
    # warm: code set, indexes and models load once, outside the timed runs
    t = time.perf_counter()
    hybrid = Coder(dense=True)
    hybrid.code(notes_eval.case_to_encounter(cases[0]))
    report["warmup_seconds"] = round(time.perf_counter() - t, 1)
    report["medcode_hybrid"] = notes_eval.run(args.cases, hybrid)
    report["retrieval_and_calibration"] = retrieval_and_calibration(cases, hybrid)
    report["medcode_bm25_ranker"] = notes_eval.run(args.cases, Coder(dense=False))
    report["baseline_bm25_only"] = bm25_only(cases)
    report["peer_icd10_coder"] = icd10_coder_peer(cases)
    report["peak_rss_mb_coding"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    if args.skip_assertion:
        print(json.dumps(report, indent=2))
        return
    rows = assertion_eval.read_tsv(args.assertion)
    t = time.perf_counter()
    report["assertion_medcode"] = assertion_eval.run(args.assertion)
    report["assertion_medcode"]["seconds"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    report["assertion_medspacy_context"] = medspacy_baseline(rows)
    report["assertion_medspacy_context"]["seconds"] = round(time.perf_counter() - t, 1)
    print(json.dumps(report, indent=2))
    if args.append:
        with args.append.open("a") as fh:
            fh.write(_markdown(report, args))


def _markdown(r: dict, args) -> str:
    def row(name: str, m: dict) -> str:
        return (f"| {name} | {m['micro_precision']:.3f} | {m['micro_recall']:.3f} | {m['micro_f1']:.3f} | "
                f"{m['primary_top1']:.3f} | {m['primary_top3']:.3f} | {m['must_not_code_violations']}/"
                f"{m['must_not_code_traps']} | {m['em_level_accuracy']} | {m['notes_per_second']} |")

    def arow(name: str, m: dict) -> str:
        return (f"| {name} | {m['negated']['f1']:.3f} | {m['historical']['f1']:.3f} | "
                f"{m['hypothetical']['f1']:.3f} | {m['other_experiencer']['f1']:.3f} | "
                f"{m.get('target_not_found', 0)} |")

    return "\n".join([
        f"\n### Coding and assertion accuracy — {r['when']}",
        f"`.venv/bin/python benchmarks/eval_coder.py --cases {args.cases} --assertion {args.assertion}` "
        f"({r['machine']}; warm-up {r['warmup_seconds']} s; peak RSS {r['peak_rss_mb_coding']} MB)\n",
        "| coder | micro P | micro R | micro F1 | primary top-1 | primary top-3 | must-not-code violations | "
        "E/M exact | notes/s |",
        "|---|---|---|---|---|---|---|---|---|",
        row("medcode (BM25 + FAISS, fused ranker)", r["medcode_hybrid"]),
        row("medcode (BM25, fused ranker)", r["medcode_bm25_ranker"]),
        row("baseline: BM25 top document", r["baseline_bm25_only"]),
        row("peer: icd10-coder 0.2.3 lookup (FY2025 FTS), first billable hit", r["peer_icd10_coder"]),
        "",
        f"Candidate generation: {r['retrieval_and_calibration']['gold_recall_in_candidates']} of the gold codes are "
        f"among the retrieved candidates (top {r['retrieval_and_calibration']['k_per_mention']} per mention, hybrid). "
        f"Expected calibration error of the suggested codes' confidence: {r['retrieval_and_calibration']['ece']} "
        f"over {r['retrieval_and_calibration']['scored_codes']} suggestions.",
        "",
        f"Assertion, {r['assertion_medcode']['sentences']} sentences:\n",
        "| system | negated F1 | historical F1 | hypothetical F1 | other experiencer F1 | concept not found |",
        "|---|---|---|---|---|---|",
        arow("medcode (ConText + medcode rules, exact mention spans)", r["assertion_medcode"]),
        arow("medspaCy 1.3.1 ConText, concept as target rule", r["assertion_medspacy_context"]),
        "",
    ])


if __name__ == "__main__":
    main()
