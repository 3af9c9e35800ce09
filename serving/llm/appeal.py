"""Appeal letters drafted with the LLM on top of the template (``claims.denials``).

The template letter (:class:`claims.denials.TemplateAppealWriter`) is always the base: it names every
CARC/RARC, amount and evidence span, and it needs no model. :class:`LlmAppealWriter` adds one section
to it, a clinical justification drafted by the model from the denial reasons and from sentences of
the note. The model may only *pick* supporting sentences (a JSON enum of the note's own sentences,
so they are verbatim) and write a short paragraph; the section is labelled as a draft for review.
When the LLM is not configured, down, slow or its answer does not validate, the letter is the
template's alone, and :attr:`LlmAppealWriter.info` says why.

``claims`` cannot import ``serving`` (layers run downward), so the drafter lives here and the layers
above (``medcode claim appeal``) pass :class:`LlmAppealWriter` to :func:`claims.denials.draft_appeal`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claims.denials import AppealContext, TemplateAppealWriter
from serving.llm.config import LlmConfig
from serving.llm.engine import GenerationRequest, TextEngine
from serving.llm.exceptions import InvalidOutput, LlmError
from serving.llm.prompts import load_prompt
from serving.pipeline.sections import split_sections

log = logging.getLogger("medcode.llm")

PROMPT_NAME = "appeal_v1"
JUSTIFICATION_MAX_CHARS = 600
MAX_FACTS = 3
# sections whose sentences can support medical necessity, best first
_ROLE_ORDER = {"assessment": 0, "procedure": 1, "hpi": 2, "results": 3, "reasoning": 4, "chief_complaint": 5,
               "exam": 6, "preamble": 7}
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


class _Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facts: list[str] = Field(max_length=MAX_FACTS)
    justification: str = Field(min_length=1, max_length=JUSTIFICATION_MAX_CHARS)


def appeal_schema(sentences: Sequence[str]) -> dict:
    """Facts are picked from ``sentences`` (verbatim); the justification is short free text."""
    facts: dict[str, Any] = {"type": "array", "items": {"type": "string", "enum": list(sentences)},
                             "minItems": 1 if sentences else 0, "maxItems": min(MAX_FACTS, len(sentences))}
    if not sentences:
        facts = {"type": "array", "maxItems": 0}
    return {"type": "object",
            "properties": {"facts": facts,
                           "justification": {"type": "string", "minLength": 1, "maxLength": JUSTIFICATION_MAX_CHARS}},
            "required": ["facts", "justification"], "additionalProperties": False}


def parse_draft(text: str, sentences: Sequence[str]) -> _Draft:
    try:
        draft = _Draft.model_validate(json.loads(text))
    except (json.JSONDecodeError, TypeError):
        raise InvalidOutput("appeal answer is not JSON") from None
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:3])
        raise InvalidOutput(f"appeal answer does not match the schema (at {fields})") from None
    allowed = set(sentences)
    if any(f not in allowed for f in draft.facts):
        raise InvalidOutput("appeal answer quotes a sentence that is not in the note")
    if not draft.justification.strip():
        raise InvalidOutput("appeal answer has an empty justification")
    draft.facts = list(dict.fromkeys(draft.facts))
    return draft


def note_sentences(notes: Sequence[str], spans: Sequence[tuple[int, int, int]] = (), limit: int = 12,
                   max_chars: int = 300) -> list[str]:
    """Candidate supporting sentences: those holding coder evidence first, then by section role."""
    ranked: list[tuple[tuple[int, int, int], str]] = []
    for ni, note in enumerate(notes):
        for sec in split_sections(note):
            role = _ROLE_ORDER.get(sec.role)
            if role is None:
                continue  # ROS, family/social history, medications, plan: not the patient's findings
            pos = sec.start
            for part in _SENTENCE.split(sec.text(note)):
                start = note.find(part, pos) if part else -1
                pos = max(pos, start + len(part)) if start >= 0 else pos
                s = part.strip()
                if not 12 <= len(s) <= max_chars or not s.isprintable():
                    continue
                cited = any(n == ni and start < e and s0 < start + len(part) for n, s0, e in spans)
                ranked.append(((0 if cited else 1, role, len(ranked)), s))
    out = list(dict.fromkeys(s for _, s in sorted(ranked)))
    return out[:limit]


def appeal_payload(context: AppealContext, notes: Sequence[str]) -> dict:
    """What :class:`AppealDrafter` takes: denial reasons, claim codes, note sentences."""
    spans = [(ev.note_index, ev.start, ev.end) for _, ev in context.evidence]
    return {
        "reasons": [f"{r.label}: {r.carc_text} (category {r.category.value})"
                    + (f"; remarks {', '.join(r.remarks)}" if r.remarks else "") for r in context.reasons],
        "codes": list(dict.fromkeys(code for code, _ in context.evidence)),
        "procedures": list(context.procedures),
        "sentences": note_sentences(notes, spans),
    }


class AppealDrafter:
    """Drafts the justification on one engine; runs where the engine is (the CLI, the LLM deployment)."""

    def __init__(self, engine: TextEngine, config: LlmConfig):
        self.engine, self.config = engine, config
        self.prompt = load_prompt(PROMPT_NAME)

    def _render(self, payload: dict, sentences: Sequence[str]) -> str:
        return self.prompt.render(
            reasons="\n".join(f"- {r}" for r in payload["reasons"]) or "- (none given)",
            codes="\n".join(f"- {c}" for c in payload["codes"]) or "- (none)",
            facts="\n".join(f"{i}. {s}" for i, s in enumerate(sentences, start=1)) or "(no sentences)",
        )

    async def adraft(self, payload: dict) -> dict:
        t0 = time.perf_counter()
        sentences = list(payload.get("sentences") or [])
        budget = 16 + 2 * JUSTIFICATION_MAX_CHARS + sum(sorted((len(s) for s in sentences), reverse=True)[:MAX_FACTS])
        while True:  # drop the weakest sentences until prompt and answer fit the context
            ids = self.engine.encode_prompt(self._render(payload, sentences))
            if len(ids) + budget <= self.engine.max_model_len or not sentences:
                break
            sentences.pop()
        if len(ids) + budget > self.engine.max_model_len:
            budget = self.engine.max_model_len - len(ids)
            if budget < 64:
                raise InvalidOutput("appeal prompt does not fit the model's context")
        [gen] = await self.engine.agenerate(
            [GenerationRequest(prompt_ids=ids, max_tokens=budget, json_schema=appeal_schema(sentences))],
            self.config.timeout_s)
        draft = parse_draft(gen.text, sentences)
        log.info("llm appeal drafted: facts=%d tokens_in=%d tokens_out=%d latency_ms=%.0f", len(draft.facts),
                 gen.prompt_tokens, gen.output_tokens, (time.perf_counter() - t0) * 1000)
        return {"status": "ok", "model": self.engine.model, "prompt_version": self.prompt.id,
                "facts": draft.facts, "justification": draft.justification.strip()}

    def draft(self, payload: dict) -> dict:
        return self.engine.run(self.adraft(payload), self.config.timeout_s)


DraftFn = Callable[[dict], dict]


class LlmAppealWriter(TemplateAppealWriter):
    """The template letter plus, when the LLM answers validly, a drafted justification section.

    Parameters
    ----------
    draft : callable or None
        ``payload -> draft`` (:meth:`AppealDrafter.draft`, or a call to the Serve deployment); None: the
        template alone (``info["status"] == "not_configured"``).
    notes : sequence of str
        The encounter's note texts (the source of the supporting sentences).
    """

    def __init__(self, draft: DraftFn | None, notes: Sequence[str], model: str | None = None, **kw: Any):
        super().__init__(**kw)
        self.draft, self.notes, self.model = draft, list(notes), model
        self.info: dict[str, Any] = {"status": "not_configured"}

    def write(self, context: AppealContext) -> str:
        letter = super().write(context)
        meta = {"model": self.model, "prompt_version": load_prompt(PROMPT_NAME).id} if self.model else {}
        if self.draft is None:
            self.info = {"status": "not_configured"} | meta
            return letter
        payload = appeal_payload(context, self.notes)
        try:
            out = self.draft(payload)
        except TimeoutError:
            self.info = {"status": "timeout"} | meta
            return letter
        except LlmError as exc:
            self.info = {"status": exc.status, "reason": str(exc)} | meta
            return letter
        except Exception as exc:  # noqa: BLE001 - whatever failed, the template letter still goes out
            self.info = {"status": "error", "reason": type(exc).__name__} | meta
            return letter
        if out.get("status") != "ok":
            self.info = {"status": out.get("status", "error"), "reason": out.get("reason")} | meta
            return letter
        self.info = {"status": "ok", "model": out["model"], "prompt_version": out["prompt_version"],
                     "facts": len(out["facts"])}
        return self._insert(letter, out)

    @staticmethod
    def _insert(letter: str, out: dict) -> str:
        facts = "\n".join(f'  - "{f}"' for f in out["facts"])
        section = (f"Clinical justification (draft by {out['model']}, prompt {out['prompt_version']}; "
                   "verify against the record before sending):\n" + out["justification"]
                   + ("\n\nSupporting statements from the note:\n" + facts if facts else "") + "\n\n")
        at = letter.rfind("\nSincerely,")
        return letter + "\n" + section if at < 0 else letter[: at + 1] + section + letter[at + 1:]
