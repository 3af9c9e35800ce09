"""The adjudication output: the JSON schema vLLM enforces, and the validation applied anyway.

vLLM's structured outputs constrain decoding to :func:`adjudication_schema`, whose ``code`` field is an
enum of the request's candidate codes. :func:`parse_decisions` still validates the text (pydantic,
candidate membership, exactly one decision per code): a truncated, malformed or off-list answer raises
:class:`~serving.llm.exceptions.InvalidOutput`, and the caller keeps the ranker's result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.llm.exceptions import InvalidOutput


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    decision: Literal["accept", "reject"]
    confidence: int = Field(ge=0, le=100)
    evidence: str = ""


class Decisions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decisions: list[Decision]


def adjudication_schema(codes: Sequence[str], evidence_max_chars: int = 120) -> dict:
    """A JSON schema admitting exactly one decision per candidate code, in the candidates' order.

    Position ``i`` of ``decisions`` may only name ``codes[i]`` (``prefixItems``, no further items), so a
    constrained answer can neither leave the candidate set nor judge a code twice or skip one.
    """

    def item(code: str) -> dict:
        return {
            "type": "object",
            "properties": {
                "code": {"type": "string", "enum": [code]},
                "decision": {"type": "string", "enum": ["accept", "reject"]},
                "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
                # printable ASCII without quote or backslash: no escapes, so each token covers at least
                # one character and max_output_tokens is a true bound
                "evidence": {"type": "string", "pattern": f"^[ !#-\\[\\]-~]{{0,{evidence_max_chars}}}$"},
            },
            "required": ["code", "decision", "confidence", "evidence"],
            "additionalProperties": False,
        }

    n = len(codes)
    return {
        "type": "object",
        "properties": {
            "decisions": {"type": "array", "prefixItems": [item(c) for c in codes], "items": False,
                          "minItems": n, "maxItems": n},
        },
        "required": ["decisions"],
        "additionalProperties": False,
    }


def max_output_tokens(n_codes: int, evidence_max_chars: int) -> int:
    """An upper bound on the answer's tokens: the JSON around each decision, one token per quote character."""
    return 16 + n_codes * (80 + evidence_max_chars)


def parse_decisions(text: str, codes: Sequence[str], evidence_max_chars: int = 120) -> list[Decision]:
    """Validate the model's answer against the request's candidate set.

    Raises
    ------
    InvalidOutput
        Not JSON, not the schema, a code outside ``codes``, a code judged twice, or an over-long quote.
        The message names the failure, never the text.
    """
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise InvalidOutput(f"answer is not JSON ({type(exc).__name__})") from None
    try:
        parsed = Decisions.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:3])
        raise InvalidOutput(f"answer does not match the schema (at {fields})") from None
    allowed = set(codes)
    seen: set[str] = set()
    for d in parsed.decisions:
        if d.code not in allowed:
            raise InvalidOutput("answer names a code outside the candidate set")
        if d.code in seen:
            raise InvalidOutput("answer judges a code twice")
        if len(d.evidence) > evidence_max_chars:
            raise InvalidOutput("evidence quote longer than allowed")
        seen.add(d.code)
    if seen != allowed:
        raise InvalidOutput(f"answer judges {len(seen)} of {len(allowed)} candidate codes")
    return parsed.decisions
