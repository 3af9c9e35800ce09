"""Throughput of the LLM stage (code adjudication on vLLM) for one model on this machine.

    .venv/bin/python benchmarks/gpu/llm_throughput.py MODEL_PATH [--cases DIR] [--candidates ranker|gold]
                                                                [--repeat N] [--max-model-len N] [--append FILE]

Each note's candidate codes come from medcode's ranker (BM25, not timed) or, for eval cases, from their
gold and must-not-code lists. Every note's adjudication requests are then sent at once to one vLLM
engine (continuous batching), and the wall time of that alone is measured: notes/s, prompt and output
tokens/s. Prints one JSON object; ``--append`` adds a dated Markdown row to a file (docs/BENCHMARKS.md).

``--cases`` is a folder of eval cases (``*.json`` with ``note``) or of plain notes (``*.txt``); the
default is ``../shared/eval/notes-dev``. On a GPU host, run it through ``benchmarks/gpu/llm_throughput.sh``
(docs/LLM.md says which vLLM wheel). With the tiny random test model on CPU the figures measure
plumbing only, never model speed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def load_notes(folder: Path) -> list[dict]:
    notes = []
    for f in sorted(folder.glob("*.json")):
        case = json.loads(f.read_text())
        if isinstance(case, dict) and "note" in case:
            notes.append(case)
    for f in sorted(folder.glob("*.txt")):
        notes.append({"id": f.stem, "note": f.read_text(), "date_of_service": "2026-05-01"})
    if not notes:
        raise SystemExit(f"no notes (*.json with a note field, or *.txt) in {folder}")
    return notes


def payloads(notes: list[dict], mode: str, top_k: int) -> list[dict]:
    """One adjudication payload per note (the ranker's top codes, or the case's gold and trap codes)."""
    from serving.evaluation.notes import case_to_encounter
    from serving.llm import judgement_request

    out = []
    if mode == "gold":
        for n in notes:
            gold = n.get("gold") or {}
            codes = list(dict.fromkeys(gold.get("icd10cm", []) + [t["code"] for t in gold.get("must_not_code", [])]))
            if not codes:
                raise SystemExit(f"{n['id']}: no gold codes; use --candidates ranker")
            out.append({"notes": [n["note"]], "setting": n.get("setting", "office"), "candidates": [
                {"code": c, "description": c, "confidence": 0.7, "note_index": 0, "start": None, "end": None}
                for c in codes[:top_k]]})
        return out
    from serving.pipeline.coder import Coder

    coder = Coder(dense=False)
    for n in notes:
        case = {"gold": {}, **n}
        enc = case_to_encounter(case)
        out.append(judgement_request(enc, coder.code_ranked(enc), top_k))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_path", type=Path)
    ap.add_argument("--cases", type=Path, default=ROOT.parent / "shared" / "eval" / "notes-dev")
    ap.add_argument("--candidates", choices=("ranker", "gold"), default="ranker")
    ap.add_argument("--repeat", type=int, default=1, help="send every note this many times (a longer run)")
    ap.add_argument("--max-model-len", type=int, default=None)
    ap.add_argument("--top-k", type=int, default=8)
    ap.add_argument("--timeout-s", type=float, default=600)
    ap.add_argument("--label", default="", help="e.g. plumbing-only for the tiny test model")
    ap.add_argument("--append", type=Path, default=None)
    a = ap.parse_args()

    from serving.llm import Adjudicator, LlmConfig, VllmEngine

    notes = load_notes(a.cases)
    todo = [p for p in payloads(notes, a.candidates, a.top_k) if p["candidates"]] * max(1, a.repeat)
    cfg = LlmConfig.from_settings(model_path=a.model_path)
    cfg = cfg.model_copy(update={"timeout_s": a.timeout_s, "top_k": a.top_k,
                                 **({"max_model_len": a.max_model_len} if a.max_model_len else {})})
    t0 = time.perf_counter()
    engine = VllmEngine(cfg)
    startup = time.perf_counter() - t0
    try:
        adj = Adjudicator(engine, cfg)
        adj.judge(todo[0])  # warm-up: first grammar compile and kernels, not timed

        async def all_notes():
            import asyncio

            return await asyncio.gather(*(adj.ajudge(p) for p in todo))

        t0 = time.perf_counter()
        results = engine.run(all_notes(), a.timeout_s)
        seconds = time.perf_counter() - t0
    finally:
        engine.shutdown()
    import torch

    prompt = sum(r["prompt_tokens"] for r in results)
    output = sum(r["output_tokens"] for r in results)
    report = {
        "model": engine.model, "device": engine.device,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "label": a.label or None, "notes": len(todo), "requests": sum(r["requests"] for r in results),
        "invalid_requests": sum(r["invalid_requests"] for r in results),
        "codes_judged": sum(len(r["decisions"]) for r in results), "candidates": a.candidates,
        "max_model_len": cfg.max_model_len, "engine_startup_s": round(startup, 1), "seconds": round(seconds, 3),
        "notes_per_s": round(len(todo) / seconds, 3), "prompt_tokens": prompt, "output_tokens": output,
        "prompt_tokens_per_s": round(prompt / seconds, 1), "output_tokens_per_s": round(output / seconds, 1),
        "tokens_per_s": round((prompt + output) / seconds, 1),
    }
    try:
        import vllm

        report["vllm"] = vllm.__version__
    except Exception:  # noqa: BLE001
        report["vllm"] = None
    print(json.dumps(report, indent=2))
    if a.append is not None:
        day = datetime.now(UTC).date().isoformat()
        with a.append.open("a") as fh:
            fh.write(f"\n### LLM stage throughput ({day}, {report['label'] or report['model']})\n\n"
                     "| model | device | notes | notes/s | prompt tok/s | output tok/s | invalid |\n"
                     "|---|---|---|---|---|---|---|\n"
                     f"| {report['model']} | {report['gpu'] or report['device']} | {report['notes']} | "
                     f"{report['notes_per_s']} | {report['prompt_tokens_per_s']} | {report['output_tokens_per_s']} | "
                     f"{report['invalid_requests']} |\n")


if __name__ == "__main__":  # vLLM starts processes: the engine is built only under this guard
    main()
