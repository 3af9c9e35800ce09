"""Claim-level edits that need no code set: a diagnosis is present, and service lines point at them.

Diagnosis pointers (837P SV107) are 1-based positions in the claim's ICD-10-CM diagnosis list, which
holds at most 12 codes (HI segment).
"""

from __future__ import annotations

from collections.abc import Iterator

from medcore.model import Severity
from rules.base import Hit, Rule, ScrubContext, display

MAX_CLAIM_DIAGNOSES = 12


def check_no_diagnosis(ctx: ScrubContext) -> Iterator[Hit]:
    if not ctx.diagnoses:
        yield Hit(
            "The claim has no ICD-10-CM diagnosis.",
            (),
            "Add at least one diagnosis code supported by the documentation.",
        )


def check_dx_pointers(ctx: ScrubContext) -> Iterator[Hit]:
    n = len(ctx.diagnoses)
    if n > MAX_CLAIM_DIAGNOSES:
        yield Hit(
            f"The claim lists {n} diagnoses; an 837P carries at most {MAX_CLAIM_DIAGNOSES}.",
            tuple(display(c) for c in ctx.diagnoses[MAX_CLAIM_DIAGNOSES:]),
            f"Keep the {MAX_CLAIM_DIAGNOSES} diagnoses that support the billed services.",
        )
    usable = min(n, MAX_CLAIM_DIAGNOSES)
    for i, line in enumerate(ctx.encounter.procedures, start=1):
        bad = [p for p in line.dx_pointers if not 1 <= p <= usable]
        if bad and n:
            yield Hit(
                f"Line {i} ({line.code}) points at diagnosis position(s) {', '.join(map(str, bad))}; "
                f"the claim has {usable}.",
                (line.code,),
                f"Point line {i} at positions 1-{usable}.",
            )
        dupes = sorted({p for p in line.dx_pointers if line.dx_pointers.count(p) > 1})
        if dupes:
            yield Hit(
                f"Line {i} ({line.code}) repeats diagnosis pointer(s) {', '.join(map(str, dupes))}.",
                (line.code,),
                "List each diagnosis pointer once per line.",
            )


RULES = (
    Rule("CLAIM.NO_DIAGNOSIS", Severity.error, check_no_diagnosis, carc="16", rarc="M76", needs_codeset=False),
    Rule("CLAIM.DX_POINTER", Severity.error, check_dx_pointers, carc="16", rarc="M76", needs_codeset=False),
)
