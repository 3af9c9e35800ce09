"""Is each diagnosis a valid, billable ICD-10-CM code in the release in effect on the date of service?

Each code gets at most one of these findings, checked in this order:

1. ``ICD.SEVENTH_CHAR``: the code belongs to a category that takes a 7th character, and the character
   is missing, not defined for it, or the placeholder X is missing. The valid characters come from the
   release's generated codes (which the official code list vets), not from the ``sevenChrDef`` alone.
2. ``ICD.INVALID_FOR_DOS``: the code is not in the release at all.
3. ``ICD.BILLABLE``: the code is a header (category or subcategory) with more specific codes below it.

``ICD.NO_CODESET_FOR_DOS`` and ``ICD.APPROXIMATE_RELEASE`` report on the release choice itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from medcore.model import Severity
from medcore.refdata.icd10cm import CodeSet, dotted, nodot
from rules.base import Hit, Rule, ScrubContext, display

MAX_SUGGESTIONS = 5


def _seventh_children(cs: CodeSet, code: str) -> dict[str, str]:
    """7th character → full code, for a leaf that takes a 7th character."""
    out: dict[str, str] = {}
    for child in cs.children.get(code, []):
        e = cs.codes.get(child)
        if e is not None and e.generated:
            out[nodot(child)[-1]] = child
    return out


def _seventh_char_problem(cs: CodeSet, raw: str) -> Hit | None:
    c = nodot(raw)
    entry = cs.get(c)
    if entry is not None:
        if entry.billable:
            return None
        kids = _seventh_children(cs, entry.code)
        if kids:
            return Hit(
                f"{entry.code} needs a 7th character.",
                (entry.code,),
                f"Add a 7th character; valid: {', '.join(sorted(kids))} (e.g. {kids[sorted(kids)[0]]}).",
            )
        return None
    if len(c) == 7:
        # the leaf is the first six characters without trailing placeholder Xs
        for k in range(6, 2, -1):
            if c[k:6].strip("X"):
                break
            leaf = cs.get(c[:k])
            kids = _seventh_children(cs, leaf.code) if leaf is not None else {}
            if kids:
                return Hit(
                    f"{display(raw)}: 7th character '{c[6]}' is not valid for {leaf.code}.",
                    (display(raw),),
                    f"Use one of the valid 7th characters: {', '.join(sorted(kids))}.",
                )
    if 4 <= len(c) < 7:
        # a 7th character given without its placeholder X (W19A for W19.XXXA)
        leaf = cs.get(c[:-1])
        kids = _seventh_children(cs, leaf.code) if leaf is not None else {}
        if c[-1] in kids:
            return Hit(
                f"{display(raw)}: the placeholder X is missing before the 7th character.",
                (display(raw),),
                f"Use {kids[c[-1]]}.",
            )
    return None


def _nearest_existing(cs: CodeSet, raw: str) -> str | None:
    c = nodot(raw)
    while len(c) >= 3:
        if c in cs:
            return dotted(c)
        c = c[:-1]
    return None


def _suggest_billable(cs: CodeSet, code: str) -> list[str]:
    # shallowest first, so "E11.9" comes before "E11.641"
    found = cs.billable_descendants(code)
    return sorted(found, key=lambda x: (len(nodot(x)), x))[:MAX_SUGGESTIONS]


def check_seventh_char(ctx: ScrubContext) -> Iterator[Hit]:
    assert ctx.codeset is not None
    for raw in dict.fromkeys(ctx.diagnoses):
        hit = _seventh_char_problem(ctx.codeset, raw)
        if hit is not None:
            yield hit


def check_invalid_for_dos(ctx: ScrubContext) -> Iterator[Hit]:
    cs = ctx.codeset
    assert cs is not None
    for raw in dict.fromkeys(ctx.diagnoses):
        if raw in cs or _seventh_char_problem(cs, raw) is not None:
            continue
        near = _nearest_existing(cs, raw)
        fix = (
            f"Choose a billable code under {near}." if near
            else "Check the code against the tabular list for the date of service."
        )
        yield Hit(
            f"{display(raw)} is not an ICD-10-CM code in release {ctx.release} "
            f"(in effect on the date of service).",
            (display(raw),),
            fix,
        )


def check_billable(ctx: ScrubContext) -> Iterator[Hit]:
    cs = ctx.codeset
    assert cs is not None
    for raw in dict.fromkeys(ctx.diagnoses):
        e = cs.get(raw)
        if e is None or e.billable or _seventh_children(cs, e.code):
            continue
        options = _suggest_billable(cs, e.code)
        total = len(cs.billable_descendants(e.code))
        yield Hit(
            f"{e.code} is a header code, not valid for billing; {total} more specific codes lie under it.",
            (e.code,),
            f"Code to the highest specificity documented, e.g. {', '.join(options)}.",
        )


def check_no_codeset(ctx: ScrubContext) -> Iterator[Hit]:
    if ctx.codeset is None and ctx.codeset_error:
        yield Hit(
            f"No shipped ICD-10-CM release covers the date of service ({ctx.codeset_error}). "
            "Diagnosis codes were not validated.",
            (),
            "Install the ICD-10-CM release for that fiscal year, or correct the date of service.",
        )


def check_approximate(ctx: ScrubContext) -> Iterator[Hit]:
    if ctx.codeset is not None and ctx.approximate:
        yield Hit(
            f"Codes were checked against {ctx.release}, another update of the date of service's fiscal "
            "year; codes added or deleted between updates may be misjudged.",
            (),
            "Install the exact ICD-10-CM update in effect on the date of service.",
            Severity.warning,
        )


RULES = (
    Rule("ICD.NO_CODESET_FOR_DOS", Severity.error, check_no_codeset, needs_codeset=False),
    Rule("ICD.APPROXIMATE_RELEASE", Severity.warning, check_approximate),
    Rule("ICD.SEVENTH_CHAR", Severity.error, check_seventh_char, carc="16", rarc="M76"),
    Rule("ICD.INVALID_FOR_DOS", Severity.error, check_invalid_for_dos, carc="146"),
    Rule("ICD.BILLABLE", Severity.error, check_billable, carc="16", rarc="M76"),
)
