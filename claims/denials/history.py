"""A synthetic claim history: random claims adjudicated by the simulator's payer rules.

Real denial history is PHI and payer-specific; this generator gives the model something honest to
learn from in development. Claims vary payer, diagnoses, procedures, modifiers and prior
authorization; a simulated scrubber raises findings for some (not all) of the problems the payer
will deny; note signals say whether an authorization is documented. Labels come from
:func:`claims.simulator.adjudicate.adjudicate`, including its random CO-16 noise.
"""

from __future__ import annotations

import random
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from claims.denials.features import DenialFeatures, LineFeatures
from claims.simulator.adjudicate import ClaimResult, SubmittedClaim, SubmittedLine, adjudicate
from claims.simulator.rules import PayerRules, load_rules
from medcore.model import PayerKind

__all__ = ["HistoryRecord", "synthetic_history"]

_EM = ["99212", "99213", "99214", "99215"]
_PROCEDURES = ["20610", "11102", "17110", "96372", "83036", "36415", "93000", "94640", "70551", "72148",
               "97110", "90834", "90837", "80053", "85025", "71046"]
_DIAGNOSES = ["E119", "I10", "E785", "J441", "Z87891", "F411", "M1711", "R0789", "J069", "Z0000", "Z411",
              "M545", "R739", "I4891", "N390", "K219", "J45909", "L570", "M25561", "R42"]


class HistoryRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    features: DenialFeatures
    denied: bool
    result: ClaimResult


def synthetic_history(n: int, *, rules: PayerRules | None = None, seed: int = 7) -> list[HistoryRecord]:
    """``n`` synthetic claims with their features and adjudicated outcome (deterministic per seed)."""
    rules = rules or load_rules()
    rng = random.Random(seed)
    payers = [*rules.payers, rules.default_payer.model_copy(update={"payer_id": "99999"})]
    out = []
    for i in range(n):
        policy = rng.choice(payers)
        dx = rng.sample(_DIAGNOSES, rng.randint(1, 3))
        codes = [rng.choice(_EM)] + rng.sample(_PROCEDURES, rng.choice([0, 1, 1, 2]))
        has_auth = rng.random() < 0.5
        findings: list[str] = []
        lines = []
        for code in codes:
            mods: list[str] = []
            if code in _EM and len(codes) > 1 and rng.random() < 0.6:
                mods.append("25")
            pointers = sorted(rng.sample(range(1, len(dx) + 1), rng.randint(1, len(dx))))
            if code not in _EM:
                rng.shuffle(pointers)
            lines.append(SubmittedLine(code=code, modifiers=mods, charge=Decimal(rng.choice([40, 80, 120, 180, 260])),
                                       dx_pointers=pointers[:4]))
            # a scrubber that catches some, not all, of what the payer will deny
            needs_mod = any(code in r.codes and r.modifier not in mods and set(codes) & set(r.when_billed_with_any)
                            for r in policy.required_modifiers)
            if needs_mod and rng.random() < 0.6:
                findings.append("NCCI-MODIFIER")
            if code in policy.prior_authorization and not has_auth and rng.random() < 0.3:
                findings.append("PAYER-PRIOR-AUTH")
        if any(d in policy.not_covered_diagnoses for d in dx) and rng.random() < 0.4:
            findings.append("PAYER-DX-COVERAGE")
        if rng.random() < 0.25:
            findings.append(rng.choice(["DX-SPECIFICITY", "EM-LEVEL-REVIEW", "AGE-SEX"]))
        claim = SubmittedClaim(
            claim_id=f"SYN{seed}-{i:06d}", payer_id=policy.payer_id, payer_name=policy.name, payer_kind=policy.kind,
            diagnosis_codes=dx, lines=lines, prior_authorization="AUTH123" if has_auth else None,
        )
        result = adjudicate(claim, rules)
        signals = {
            # the note mentions the authorization most of the time it exists, and occasionally when it does not
            "auth_documented": float(has_auth if rng.random() < 0.9 else not has_auth),
            "uncertain_language": float(rng.random() < 0.2),
            "note_length_k": round(rng.uniform(0.3, 4.0), 2),
        }
        features = DenialFeatures(
            payer_id=policy.payer_id, payer_kind=PayerKind(policy.kind), diagnosis_codes=dx,
            lines=[LineFeatures(code=ln.code, modifiers=ln.modifiers, dx_pointers=ln.dx_pointers) for ln in lines],
            scrub_errors=sum(f.startswith(("PAYER", "NCCI")) for f in findings),
            scrub_warnings=sum(not f.startswith(("PAYER", "NCCI")) for f in findings),
            scrub_rule_ids=findings, note_signals=signals,
        )
        out.append(HistoryRecord(features=features, denied=result.denied, result=result))
    return out
