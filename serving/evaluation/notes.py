"""``medcode eval notes``: code every case in a folder and score against its gold codes.

Scoring follows GUIDE.md section 3: exact ICD-10-CM codes after removing dots and upper-casing;
a predicted code listed as optional is neither a true nor a false positive; a violation is any
predicted code in ``must_not_code``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from medcore.model import Encounter, Note, Patient, Payer, PayerKind, Setting
from serving.pipeline.coder import Coder, CodingResult


def _norm(code: str) -> str:
    return code.replace(".", "").strip().upper()


def case_to_encounter(case: dict) -> Encounter:
    """An eval case as an Encounter, with its own setting, patient and date of service."""
    payer = case.get("payer") or "commercial"
    return Encounter(
        encounter_id=str(case["id"]),
        setting=Setting(case.get("setting", "office")),
        specialty=case.get("specialty"),
        patient=Patient(age=case.get("patient", {}).get("age"), sex=case.get("patient", {}).get("sex", "U")),
        date_of_service=case["date_of_service"],
        place_of_service=str(case.get("place_of_service", "11")),
        payer=Payer(kind=PayerKind(payer) if payer in PayerKind._value2member_map_ else PayerKind.commercial),
        notes=[Note(text=case["note"])],
    )


def score(cases: list[dict], results: list[CodingResult], seconds: float) -> dict:
    tp = fp = fn = 0
    top1 = top3 = traps = violations = em_total = em_right = 0
    for case, res in zip(cases, results, strict=True):
        gold = [_norm(c) for c in case["gold"]["icd10cm"]]
        optional = {_norm(c) for c in case["gold"].get("optional", [])}
        banned = {_norm(t["code"]) for t in case["gold"].get("must_not_code", [])}
        pred = [_norm(c.code) for c in res.codes]
        for p in set(pred):
            if p in gold:
                tp += 1
            elif p not in optional:
                fp += 1
        fn += len(set(gold) - set(pred))
        if gold:
            top1 += bool(pred) and pred[0] == gold[0]
            top3 += gold[0] in pred[:3]
        traps += len(banned)
        violations += len(banned & set(pred))
        if case["gold"].get("em_level"):
            em_total += 1
            em_right += bool(res.em_level) and res.em_level.get("code") == case["gold"]["em_level"]
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    n = len(cases)
    return {
        "notes": n,
        "micro_precision": round(p, 4),
        "micro_recall": round(r, 4),
        "micro_f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        "primary_top1": round(top1 / n, 4) if n else 0.0,
        "primary_top3": round(top3 / n, 4) if n else 0.0,
        "must_not_code_traps": traps,
        "must_not_code_violations": violations,
        "em_level_accuracy": round(em_right / em_total, 4) if em_total else None,
        "notes_per_second": round(n / seconds, 3) if seconds > 0 else None,
    }


def run(cases_dir: Path, coder: Coder, predictions: Path | None = None,
        progress: Callable[[int, int], None] | None = None, llm=None) -> dict:
    """Score ``coder`` on every case; with ``llm`` (a ``serving.llm.LlmStage``) the ablation.

    With ``llm`` the top-level figures (and ``predictions``) are the LLM run's; ``without_llm`` holds
    the ranker-only figures of the same pass, and ``llm`` the model, prompt version and statuses.
    """
    files = sorted(cases_dir.glob("*.json"))
    cases = [json.loads(f.read_text()) for f in files]
    cases = [c for c in cases if isinstance(c, dict) and "note" in c and "gold" in c]
    if not cases:
        raise FileNotFoundError(f"no eval cases (*.json with note and gold) in {cases_dir}")
    results: list[CodingResult] = []
    llm_results: list[CodingResult] = []
    llm_seconds = 0.0
    coder.warm(case_to_encounter(cases[0]).date_of_service)  # loading is not coding: keep it out of notes/s
    start = time.perf_counter()
    for i, case in enumerate(cases):
        enc = case_to_encounter(case)
        results.append(coder.code(enc))
        if llm is not None:
            t = time.perf_counter()
            llm_results.append(llm.apply(enc, results[-1].model_copy(deep=True), coder.settings.accept_threshold))
            llm_seconds += time.perf_counter() - t
        if progress:
            progress(i + 1, len(cases))
    seconds = time.perf_counter() - start - llm_seconds
    report = score(cases, results, seconds)
    if llm is not None:
        statuses: dict[str, int] = {}
        for r in llm_results:
            statuses[r.llm.get("status", "?")] = statuses.get(r.llm.get("status", "?"), 0) + 1
        without = report
        report = score(cases, llm_results, seconds + llm_seconds)
        report["llm"] = {"model": llm.model, "prompt_version": llm.prompt_version, "statuses": statuses,
                         "rejected": sum(len(r.llm.get("rejected", [])) for r in llm_results)}
        report["without_llm"] = without
        results = llm_results
    if predictions is not None:
        predictions.parent.mkdir(parents=True, exist_ok=True)
        with predictions.open("w") as fh:
            for case, res in zip(cases, results, strict=True):
                fh.write(json.dumps({
                    "id": case["id"],
                    "codes": [c.code for c in res.codes],
                    "em_level": res.em_level.get("code") if res.em_level else None,
                }) + "\n")
    return report
