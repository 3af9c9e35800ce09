"""Features for denial prediction: codes (hashed later), payer, scrub findings and note signals."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from medcore.model import Claim, Encounter, PayerKind, ScrubFinding, Severity

__all__ = ["DenialFeatures", "LineFeatures", "features_for_claim", "note_signals", "tokens"]

_AUTH = re.compile(r"\b(prior auth(orization)?|pre-?auth(orization)?|authorization (number|#|no\.?)|auth(orization)? (obtained|approved|on file))\b", re.I)
_UNCERTAIN = re.compile(r"\b(possible|probable|likely|suspected|rule out|r/o|versus|vs\.?)\b", re.I)


class LineFeatures(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    modifiers: list[str] = Field(default_factory=list)
    dx_pointers: list[int] = Field(default_factory=lambda: [1])


class DenialFeatures(BaseModel):
    """Everything the denial model sees about one claim before it is sent. No PHI."""

    model_config = ConfigDict(frozen=True)

    payer_id: str
    payer_kind: PayerKind = PayerKind.commercial
    diagnosis_codes: list[str]
    lines: list[LineFeatures]
    scrub_errors: int = 0
    scrub_warnings: int = 0
    scrub_rule_ids: list[str] = Field(default_factory=list)
    note_signals: dict[str, float] = Field(default_factory=dict)


def note_signals(text: str) -> dict[str, float]:
    """Simple, explainable signals from the note text: authorization documented, uncertain language, length."""
    return {
        "auth_documented": 1.0 if _AUTH.search(text or "") else 0.0,
        "uncertain_language": 1.0 if _UNCERTAIN.search(text or "") else 0.0,
        "note_length_k": min(len(text or "") / 1000.0, 10.0),
    }


def features_for_claim(
    claim: Claim,
    encounter: Encounter,
    findings: Iterable[ScrubFinding] | None = None,
    signals: dict[str, float] | None = None,
) -> DenialFeatures:
    """Features of a built claim; ``findings`` default to the claim's own, ``signals`` to :func:`note_signals`."""
    found = list(claim.findings if findings is None else findings)
    return DenialFeatures(
        payer_id=encounter.payer.payer_id,
        payer_kind=encounter.payer.kind,
        diagnosis_codes=list(claim.diagnosis_codes),
        lines=[LineFeatures(code=line.code, modifiers=list(line.modifiers), dx_pointers=list(line.dx_pointers)) for line in claim.lines],
        scrub_errors=sum(f.severity is Severity.error for f in found),
        scrub_warnings=sum(f.severity is Severity.warning for f in found),
        scrub_rule_ids=[f.rule_id for f in found],
        note_signals=signals if signals is not None else note_signals(encounter.text),
    )


def tokens(f: DenialFeatures) -> dict[str, float]:
    """Sparse named features for hashing. Interactions with the payer carry most of the signal,
    because payers differ in what they cover, require or bundle."""
    p = f"payer={f.payer_id}"
    out: dict[str, float] = {p: 1.0, f"kind={f.payer_kind.value}": 1.0, "bias": 1.0}
    codes = {line.code for line in f.lines}
    auth = int(f.note_signals.get("auth_documented", 0.0) >= 0.5)
    for dx in f.diagnosis_codes:
        out[f"dx={dx}"] = 1.0
        out[f"{p}|dx={dx}"] = 1.0
        out[f"{p}|dx3={dx[:3]}"] = 1.0
    for line in f.lines:
        c = f"cpt={line.code}"
        mods = "+".join(sorted(line.modifiers)) or "none"
        pointed = [f.diagnosis_codes[i - 1] for i in line.dx_pointers if 0 < i <= len(f.diagnosis_codes)]
        out[c] = 1.0
        out[f"{p}|{c}"] = 1.0
        out[f"{p}|{c}|mods={mods}"] = 1.0
        out[f"{p}|{c}|auth={auth}"] = 1.0
        if len(codes) > 1:
            out[f"{p}|{c}|mods={mods}|multi"] = 1.0
        for other in codes - {line.code}:
            out[f"{p}|{c}|mods={mods}|with={other}"] = 1.0
        if pointed:
            out[f"{p}|{c}|dx1={pointed[0]}"] = 1.0
            out[f"{p}|dx1={pointed[0]}"] = 1.0
            for dx in pointed:
                out[f"{p}|{c}|dx3={dx[:3]}"] = 1.0
    out["n_lines"] = float(len(f.lines))
    out["scrub_errors"] = float(f.scrub_errors)
    out["scrub_warnings"] = float(f.scrub_warnings)
    for rule in f.scrub_rule_ids:
        out[f"finding={rule}"] = 1.0
    for name, value in f.note_signals.items():
        out[f"note:{name}"] = float(value)
    return out
