"""What may not be the first-listed diagnosis.

* Manifestation codes (guideline I.A.13, "in diseases classified elsewhere"): the etiology is sequenced
  first. A code is a manifestation when its own or an ancestor's title says "in [...] diseases /
  conditions classified elsewhere" (or "due to ... classified elsewhere"), which is how the tabular
  list marks them; B95-B97 ("... as the cause of diseases classified elsewhere") are supplementary
  organism codes and may not lead either.
  A ``code_first`` note alone is not used: the tabular list also puts "code first underlying
  condition" on etiology-sequencing codes that may legitimately be first-listed (E08, I46.2, L97, R65.2,
  M40...), so it would raise false errors.
* External-cause codes (chapter 20, V00-Y99; guideline I.C.20) are never first-listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from medcore.model import Severity
from medcore.refdata.icd10cm import CodeSet
from rules.base import Hit, Rule, ScrubContext

_MANIFESTATION = re.compile(
    r"\b(?:in|due to)\b[^,]*\b(?:diseases?|conditions?|disorders?) classified elsewhere", re.I
)
_SUPPLEMENTARY = re.compile(r"\bas the cause of diseases classified elsewhere", re.I)
_EXTERNAL_CAUSES = "External causes"


def manifestation_kind(cs: CodeSet, code: str) -> str | None:
    """``"manifestation"``, ``"supplementary"`` or ``None`` for a code in the release.

    Parameters
    ----------
    cs : CodeSet
    code : str

    Returns
    -------
    str or None
    """
    e = cs.get(code)
    if e is None:
        return None
    for node in [e, *cs.ancestors(code)]:
        if _SUPPLEMENTARY.search(node.description):
            return "supplementary"
        if _MANIFESTATION.search(node.description):
            return "manifestation"
    return None


def is_external_cause(cs: CodeSet, code: str) -> bool:
    """Whether a code is in the external-causes chapter (V00-Y99) of the release."""
    ch = cs.chapter_of(code)
    return ch is not None and ch.description.startswith(_EXTERNAL_CAUSES)


def _first(ctx: ScrubContext) -> str | None:
    if not ctx.diagnoses or ctx.codeset is None:
        return None
    e = ctx.codeset.get(ctx.diagnoses[0])
    return e.code if e is not None else None


def _etiology_candidates(ctx: ScrubContext, first: str) -> list[str]:
    cs = ctx.codeset
    assert cs is not None
    return [
        c for c in ctx.known_codes()
        if c != first and manifestation_kind(cs, c) is None and not is_external_cause(cs, c)
    ]


def check_manifestation_first(ctx: ScrubContext) -> Iterator[Hit]:
    first = _first(ctx)
    if first is None:
        return
    assert ctx.codeset is not None
    kind = manifestation_kind(ctx.codeset, first)
    if kind is None:
        return
    others = _etiology_candidates(ctx, first)
    hint = f" Candidates on this claim: {', '.join(others)}." if others else ""
    if kind == "manifestation":
        note = ctx.codeset.notes_for(first, "code_first")
        lead = note[0].rstrip(" :").removesuffix(", such as").removesuffix(" such as") if note else ""
        what = f" The tabular list says: code first {lead}." if lead else ""
        yield Hit(
            f"{first} is a manifestation code and may not be the first-listed diagnosis.",
            (first,),
            f"List the underlying (etiology) condition first and {first} after it.{what}{hint}",
        )
    else:
        yield Hit(
            f"{first} identifies an infectious agent as the cause of a disease classified elsewhere "
            "and may not be the first-listed diagnosis.",
            (first,),
            f"List the infection or condition first and {first} after it.{hint}",
        )


def check_external_cause_first(ctx: ScrubContext) -> Iterator[Hit]:
    first = _first(ctx)
    if first is None:
        return
    assert ctx.codeset is not None
    if is_external_cause(ctx.codeset, first):
        others = _etiology_candidates(ctx, first)
        hint = f" Candidates on this claim: {', '.join(others)}." if others else " Add the injury or condition code."
        yield Hit(
            f"{first} is an external-cause code and may never be the first-listed diagnosis.",
            (first,),
            f"List the injury or condition it explains first and {first} after it.{hint}",
        )


RULES = (
    Rule("ICD.MANIFESTATION_FIRST", Severity.error, check_manifestation_first, carc="16", rarc="MA63"),
    Rule("ICD.EXTERNAL_CAUSE_FIRST", Severity.error, check_external_cause_first, carc="16", rarc="MA63"),
)
