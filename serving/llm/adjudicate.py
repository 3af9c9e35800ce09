"""Code adjudication: the LLM accepts or rejects, and re-scores, the ranker's top codes for a note.

Two halves, so that the engine can live in another process (a Ray Serve replica):

- :class:`Adjudicator` runs where the engine is. It splits each note by section
  (:func:`serving.pipeline.sections.split_sections`) into chunks that fit ``max_model_len`` (counted
  with the model's own tokenizer), sends one request per chunk with that chunk's candidate codes
  (all requests at once: vLLM batches them), and validates every answer. It takes and returns plain
  dicts (:func:`judgement_request`), which cross Ray unchanged.
- :func:`apply_judgement` runs in the coder: a rejected code is removed, an accepted one gets
  ``(1 - weight) * ranker + weight * llm`` as its confidence, an unjudged one keeps the ranker's.

:class:`LlmStage` is the coder's hook: it never raises; when the LLM is not configured, down, slow or
wrong, the ranker-only result comes back with ``llm.status`` saying so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from serving.llm.config import LlmConfig
from serving.llm.engine import GenerationRequest, TextEngine
from serving.llm.exceptions import InvalidOutput, LlmError
from serving.llm.prompts import Prompt, load_prompt
from serving.llm.schema import adjudication_schema, max_output_tokens, parse_decisions
from serving.pipeline.sections import split_sections

if TYPE_CHECKING:
    from medcore.model import Encounter
    from serving.pipeline.coder import CodingResult

log = logging.getLogger("medcode.llm")

PROMPT_NAME = "adjudicate_v1"
ELISION = "\n[...]\n"


@dataclass
class _Candidate:
    code: str
    description: str
    confidence: float
    note_index: int
    start: int | None
    end: int | None


@dataclass
class _Chunk:
    note_index: int
    spans: list[tuple[int, int]] = field(default_factory=list)
    cands: list[_Candidate] = field(default_factory=list)

    def text(self, note: str) -> str:
        return ELISION.join(note[s:e].strip("\n") for s, e in self.spans)


def judgement_request(enc: Encounter, result: CodingResult, top_k: int) -> dict:
    """The payload an :class:`Adjudicator` takes: note texts, setting, and the top ``top_k`` codes."""
    cands = []
    for c in sorted(result.codes, key=lambda c: c.rank)[:top_k]:
        ev = c.evidence[0] if c.evidence else None
        cands.append({"code": c.code, "description": c.description, "confidence": c.confidence,
                      "note_index": ev.note_index if ev else 0, "start": ev.start if ev else None,
                      "end": ev.end if ev else None})
    return {"notes": [n.text for n in enc.notes], "setting": enc.setting.value, "candidates": cands}


class Adjudicator:
    """Plans, sends and validates adjudication requests on one engine.

    Parameters
    ----------
    engine : TextEngine
        Usually :class:`serving.llm.engine.VllmEngine`.
    config : LlmConfig
    """

    def __init__(self, engine: TextEngine, config: LlmConfig, prompt: Prompt | None = None):
        self.engine, self.config = engine, config
        self.prompt = prompt or load_prompt(PROMPT_NAME)

    # ---- planning ------------------------------------------------------------------------------
    def _render(self, note_text: str, cands: Sequence[_Candidate], setting: str) -> str:
        lines = "\n".join(f"- {c.code}: {c.description} (ranker confidence {c.confidence:.2f})" for c in cands)
        return self.prompt.render(setting=setting, note=note_text, candidates=lines)

    def _request(self, note_text: str, cands: Sequence[_Candidate], setting: str) -> GenerationRequest | None:
        """The request for this text and these codes, or None when it does not fit ``max_model_len``."""
        ids = self.engine.encode_prompt(self._render(note_text, cands, setting))
        budget = max_output_tokens(len(cands), self.config.evidence_max_chars)
        if len(ids) + budget > self.engine.max_model_len:
            return None
        return GenerationRequest(prompt_ids=ids, max_tokens=budget,
                                 json_schema=adjudication_schema([c.code for c in cands], self.config.evidence_max_chars))

    def plan(self, notes: Sequence[str], cands: Sequence[_Candidate], setting: str,
             ) -> tuple[list[tuple[_Chunk, GenerationRequest]], list[str]]:
        """Chunks with their requests, and the codes that fit in no request."""
        planned: list[tuple[_Chunk, GenerationRequest]] = []
        unfit: list[str] = []
        by_note: dict[int, list[_Candidate]] = {}
        for c in cands:
            by_note.setdefault(c.note_index if 0 <= c.note_index < len(notes) else 0, []).append(c)
        for ni, group in by_note.items():
            note = notes[ni]
            whole = _Chunk(ni, [(0, len(note))], list(group))
            req = self._request(note, group, setting)
            if req is not None:  # the usual case: the whole note fits
                planned.append((whole, req))
                continue
            # too long: the sections that hold the candidates' evidence, packed greedily in order
            sections = [(s.start, s.end) for s in split_sections(note) if s.end > s.start]
            per_section: dict[tuple[int, int], list[_Candidate]] = {}
            for c in group:
                pos = c.start if c.start is not None else 0
                span = next((s for s in sections if s[0] <= pos < s[1]), sections[-1] if sections else (0, len(note)))
                per_section.setdefault(span, []).append(c)
            current: tuple[_Chunk, GenerationRequest] | None = None
            for span in sorted(per_section):
                add = per_section[span]
                if current is not None:
                    trial = _Chunk(ni, current[0].spans + [span], current[0].cands + add)
                    req = self._request(trial.text(note), trial.cands, setting)
                    if req is not None:
                        current = (trial, req)
                        continue
                    planned.append(current)
                    current = None
                single = _Chunk(ni, [span], list(add))
                req = self._request(single.text(note), single.cands, setting)
                if req is not None:
                    current = (single, req)
                    continue
                # one section is itself too long: a window around each code's evidence
                for c in add:
                    win = self._window(note, c, span, setting)
                    if win is None:
                        unfit.append(c.code)
                    else:
                        planned.append(win)
            if current is not None:
                planned.append(current)
        return planned, unfit

    def _window(self, note: str, c: _Candidate, span: tuple[int, int], setting: str,
                ) -> tuple[_Chunk, GenerationRequest] | None:
        s0 = c.start if c.start is not None else span[0]
        e0 = c.end if c.end is not None else min(span[1], s0 + 200)
        lo, hi, best = 0, max(span[1] - span[0], 0), None
        while lo <= hi:  # the widest window around the evidence that still fits
            mid = (lo + hi) // 2
            chunk = _Chunk(c.note_index, [(max(span[0], s0 - mid), min(span[1], e0 + mid))], [c])
            req = self._request(chunk.text(note), [c], setting)
            if req is None:
                hi = mid - 1
            else:
                best, lo = (chunk, req), mid + 1
        return best

    # ---- judging -------------------------------------------------------------------------------
    async def ajudge(self, payload: dict) -> dict:
        """Judge the payload of :func:`judgement_request`; runs on the engine's event loop.

        Raises
        ------
        LlmTimeout, EngineUnavailable
            From the engine; the caller falls back to the ranker.
        """
        notes: list[str] = list(payload["notes"])
        cands = [_Candidate(**c) for c in payload["candidates"]]
        t0 = time.perf_counter()
        planned, unfit = self.plan(notes, cands, str(payload.get("setting", "office")))
        gens = await self.engine.agenerate([r for _, r in planned], self.config.timeout_s) if planned else []
        decisions: list[dict] = []
        invalid = 0
        for (chunk, _), gen in zip(planned, gens, strict=True):
            codes = [c.code for c in chunk.cands]
            try:
                parsed = parse_decisions(gen.text, codes, self.config.evidence_max_chars)
            except InvalidOutput as exc:
                invalid += 1
                log.warning("llm answer rejected: %s (codes=%d finish=%s)", exc, len(codes), gen.finish_reason)
                continue
            note = notes[chunk.note_index]
            for d in parsed:
                quote = d.evidence.strip()
                at = note.find(quote) if quote else -1
                decisions.append({
                    "code": d.code, "decision": d.decision, "llm_confidence": round(d.confidence / 100, 3),
                    "evidence": ({"note_index": chunk.note_index, "start": at, "end": at + len(quote)}
                                 if at >= 0 else None),
                    "evidence_ignored": bool(quote) and at < 0,
                })
        judged = {d["code"] for d in decisions}
        status = "invalid_output" if planned and invalid == len(planned) else "ok"
        out = {
            "status": status, "model": self.engine.model, "prompt_version": self.prompt.id,
            "requests": len(planned), "invalid_requests": invalid,
            "prompt_tokens": sum(g.prompt_tokens for g in gens), "output_tokens": sum(g.output_tokens for g in gens),
            "decisions": decisions, "unjudged": [c.code for c in cands if c.code not in judged],
            "too_long": unfit, "latency_ms": round((time.perf_counter() - t0) * 1000, 1),
        }
        log.info("llm judged: requests=%d invalid=%d codes=%d tokens_in=%d tokens_out=%d latency_ms=%.0f",
                 out["requests"], invalid, len(decisions), out["prompt_tokens"], out["output_tokens"], out["latency_ms"])
        return out

    def judge(self, payload: dict) -> dict:
        """Synchronous :meth:`ajudge` (the CLI, ``eval``, tests)."""
        return self.engine.run(self.ajudge(payload), self.config.timeout_s)


def apply_judgement(result: CodingResult, judgement: dict, weight: float, accept_threshold: float) -> CodingResult:
    """The coding result after the LLM's decisions (a copy; the input is not changed)."""
    out = result.model_copy(deep=True)
    by_code = {d["code"]: d for d in judgement.get("decisions", [])}
    kept, rejected, accepted = [], [], []
    review = set(out.review)
    for c in sorted(out.codes, key=lambda c: c.rank):
        d = by_code.get(c.code)
        if d is None:
            kept.append(c)
        elif d["decision"] == "reject":
            rejected.append(c.code)
            review.discard(c.code)
        else:
            conf = round((1 - weight) * c.confidence + weight * float(d["llm_confidence"]), 3)
            c = c.model_copy(update={"confidence": conf})
            if conf < accept_threshold:
                review.add(c.code)
            else:
                review.discard(c.code)
            accepted.append(c.code)
            kept.append(c)
    out.codes = [c.model_copy(update={"rank": i}) for i, c in enumerate(kept, start=1)]
    out.review = [code for code in [c.code for c in out.codes] if code in review]
    out.llm = {k: v for k, v in judgement.items() if k != "decisions"} | {
        "accepted": accepted, "rejected": rejected, "decisions": judgement.get("decisions", []),
    }
    return out


JudgeFn = Callable[[dict], dict]


class LlmStage:
    """The coder's LLM hook. Never raises: every failure returns the ranker's result, marked.

    Parameters
    ----------
    judge : callable or None
        ``payload -> judgement`` (an :meth:`Adjudicator.judge`, or a call to the Serve deployment).
        None: not configured, or unavailable (``status``/``reason`` say which).
    """

    def __init__(self, judge: JudgeFn | None, *, model: str | None = None, timeout_s: float = 30.0,
                 top_k: int = 8, weight: float = 0.5, status: str = "not_configured", reason: str | None = None):
        self.judge, self.model, self.timeout_s = judge, model, timeout_s
        self.top_k, self.weight = top_k, weight
        self.status, self.reason = ("ok" if judge is not None else status), reason

    @property
    def prompt_version(self) -> str:
        return load_prompt(PROMPT_NAME).id

    def _marked(self, result: CodingResult, status: str, reason: str | None = None, **extra: Any) -> CodingResult:
        info: dict[str, Any] = {"status": status}
        if self.model is not None:
            info |= {"model": self.model, "prompt_version": self.prompt_version}
        if reason:
            info["reason"] = reason
        result.llm = info | extra
        return result

    def apply(self, enc: Encounter, result: CodingResult, accept_threshold: float) -> CodingResult:
        if self.judge is None:
            return self._marked(result, self.status, self.reason)
        payload = judgement_request(enc, result, self.top_k)
        if not payload["candidates"]:
            return self._marked(result, "no_candidates")
        t0 = time.perf_counter()
        try:
            judgement = self.judge(payload)
        except TimeoutError:  # a Serve handle's GetTimeoutError is one
            log.warning("llm timeout after %.1fs (codes=%d); ranker result kept", time.perf_counter() - t0,
                        len(payload["candidates"]))
            return self._marked(result, "timeout")
        except LlmError as exc:
            log.warning("llm %s: %s; ranker result kept", exc.status, exc)
            return self._marked(result, exc.status, str(exc))
        except Exception as exc:  # noqa: BLE001 - a dead replica, a lost connection: fall back, say so
            log.warning("llm call failed (%s); ranker result kept", type(exc).__name__)
            return self._marked(result, "error", type(exc).__name__)
        if judgement.get("status") != "ok":
            extra = {k: judgement[k] for k in ("requests", "invalid_requests") if k in judgement}
            return self._marked(result, str(judgement.get("status", "error")), judgement.get("reason"), **extra)
        return apply_judgement(result, judgement, self.weight, accept_threshold)


def local_stage(config: LlmConfig | None) -> tuple[LlmStage, Any]:
    """A stage backed by an in-process engine, and the engine (to shut down), or a marked stage.

    A missing configuration gives ``not_configured``; a bad model path or a missing vLLM gives a stage
    whose results say ``error`` with the reason (no exception: the coder still works).
    """
    if config is None:
        return LlmStage(None), None
    from serving.llm.engine import VllmEngine

    try:
        engine = VllmEngine(config)
    except LlmError as exc:
        log.warning("llm unavailable: %s", exc)
        return LlmStage(None, model=config.model_path.name, status="error", reason=str(exc)), None
    adj = Adjudicator(engine, config)
    return LlmStage(adj.judge, model=engine.model, timeout_s=config.timeout_s, top_k=config.top_k,
                    weight=config.weight), engine
