"""NCCI edits on the service lines: PTP pairs, MUE units, add-on codes without their primary, and
modifier 25 on an E/M billed the same day as a procedure.

* ``NCCI.PTP``: for every pair of codes billed on the same date of service that the practitioner PTP
  table pairs (column 1 / column 2, in force on that date), the column 2 code is not payable unless the
  edit's modifier indicator is ``1`` and one of the two lines carries an NCCI-associated modifier
  (59, XE, XS, XP, XU; for an E/M in column 2, modifier 25 or 57, as the NCCI Policy Manual ch. XI
  allows). Indicator ``0`` edits are never bypassed; ``9`` edits (deleted) never fire.
* ``NCCI.MUE``: units over the MUE value. MAI 1 compares each line's units; MAI 2 and 3 compare the
  units of the code summed over every line with the same date of service. An MUE taken from the
  shipped partial Medicaid list (MAI unknown, read as MAI 1) is reported as a warning for payers other
  than Medicaid, because its values are Medicaid's.
* ``NCCI.ADD_ON``: an add-on code (``rules/data/addon_codes.yaml``) with none of its primaries on the
  same date of service.
* ``EM.MODIFIER_25``: an E/M line without modifier 25 on the same date as a procedure; lab, radiology,
  venipuncture and the other groups in ``rules/data/cpt_groups.yaml`` do not count as procedures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from medcore.model import PayerKind, ProcedureLine, Severity
from rules.base import Hit, Rule, ScrubContext, line_date
from rules.cpt_groups import addon_codes, cpt_groups

_EM_BYPASS = frozenset({"25", "57"})


def _by_date(ctx: ScrubContext) -> dict[date, list[tuple[int, ProcedureLine]]]:
    out: dict[date, list[tuple[int, ProcedureLine]]] = defaultdict(list)
    for i, line in enumerate(ctx.encounter.procedures, start=1):
        out[line_date(ctx, line)].append((i, line))
    return out


def check_ptp(ctx: ScrubContext) -> Iterator[Hit]:
    store = ctx.ncci
    if store is None or len(ctx.encounter.procedures) < 2:
        return
    bypass = cpt_groups().ptp_bypass_modifiers
    em_code = cpt_groups().is_em
    for dos, lines in _by_date(ctx).items():
        if len(lines) < 2:
            continue
        for edit in store.ptp_edits((ln.code for _, ln in lines), dos):
            if edit.modifier == "9":
                continue
            firsts = [(i, ln) for i, ln in lines if ln.code == edit.column1]
            seconds = [(i, ln) for i, ln in lines if ln.code == edit.column2]
            for i, ln in seconds:
                # an E/M in column 2 is separated by 25 (or 57, decision for surgery), not by 59/X{EPSU}
                own = bypass | _EM_BYPASS if em_code(ln.code) else bypass
                if edit.modifier == "1" and (
                    own.intersection(ln.modifiers) or any(bypass.intersection(f.modifiers) for _, f in firsts)
                ):
                    continue
                why = f" ({edit.rationale})" if edit.rationale else ""
                if edit.modifier == "1":
                    fix = (f"Do not bill {ln.code} with {edit.column1}; only if it was a separate and distinct "
                           f"service (different site, session or encounter) append 59 or XE/XS/XP/XU to line {i}.")
                else:
                    fix = f"Remove line {i} ({ln.code}); no modifier bypasses this edit (modifier indicator 0)."
                yield Hit(
                    f"Line {i}: {ln.code} is column 2 of NCCI PTP edit {edit.column1}/{ln.code}{why}; it is not "
                    f"paid with {edit.column1} on the same date of service.",
                    (edit.column1, ln.code),
                    fix,
                )


def check_mue(ctx: ScrubContext) -> Iterator[Hit]:
    store = ctx.ncci
    if store is None:
        return
    medicaid = ctx.encounter.payer.kind is PayerKind.medicaid
    for _dos, lines in _by_date(ctx).items():
        per_code: dict[str, list[tuple[int, ProcedureLine]]] = defaultdict(list)
        for i, ln in lines:
            per_code[ln.code].append((i, ln))
        for code, group in per_code.items():
            edit = store.mue(code)
            if edit is None:
                continue
            sev = Severity.warning if edit.source == "medicaid-partial" and not medicaid else None
            src = "" if edit.source == "practitioner" else " (partial Medicaid MUE list; MAI unknown, read as 1)"
            if edit.per_day:
                total = sum(ln.units for _, ln in group)
                if total > edit.value:
                    yield Hit(
                        f"{code}: {total} units on one date of service exceed the MUE of {edit.value} "
                        f"(MAI {edit.mai_text}){src}.",
                        (code,),
                        f"Bill at most {edit.value} units of {code} for the date; if more were truly provided, "
                        "document medical necessity and appeal.",
                        sev,
                    )
                continue
            for i, ln in group:
                if ln.units > edit.value:
                    yield Hit(
                        f"Line {i}: {ln.units} units of {code} exceed the MUE of {edit.value} "
                        f"(MAI {edit.mai_text}){src}.",
                        (code,),
                        f"Report at most {edit.value} units on line {i}; additional units on separate lines need "
                        "an appropriate modifier (e.g. 76, 91, RT/LT) and documentation.",
                        sev,
                    )


def check_add_on(ctx: ScrubContext) -> Iterator[Hit]:
    table = addon_codes()
    for _dos, lines in _by_date(ctx).items():
        codes = {ln.code for _, ln in lines}
        for i, ln in lines:
            primaries = table.get(ln.code)
            if primaries and not primaries & codes:
                yield Hit(
                    f"Line {i}: add-on code {ln.code} is billed without a primary code it is reported with "
                    f"({', '.join(sorted(primaries))}) on the same date of service.",
                    (ln.code,),
                    f"Add the primary procedure ({' or '.join(sorted(primaries))}) or remove {ln.code}.",
                )


def check_em_modifier_25(ctx: ScrubContext) -> Iterator[Hit]:
    groups = cpt_groups()
    addons = addon_codes()
    for _dos, lines in _by_date(ctx).items():
        procedures = sorted({ln.code for _, ln in lines if groups.needs_em25(ln.code)})
        if not procedures:
            continue
        for i, ln in lines:
            if groups.is_em(ln.code) and ln.code not in addons and "25" not in ln.modifiers:
                yield Hit(
                    f"Line {i}: E/M {ln.code} is billed on the same date as procedure(s) "
                    f"{', '.join(procedures)} without modifier 25.",
                    (ln.code, *procedures),
                    f"If the E/M was significant and separately identifiable, append 25 to line {i} "
                    "and document it; otherwise remove the E/M line.",
                )


RULES = (
    Rule("NCCI.PTP", Severity.error, check_ptp, carc="97", rarc="M80", needs_codeset=False),
    Rule("NCCI.MUE", Severity.error, check_mue, carc="151", rarc="N362", needs_codeset=False),
    Rule("NCCI.ADD_ON", Severity.error, check_add_on, carc="107", needs_codeset=False),
    Rule("EM.MODIFIER_25", Severity.error, check_em_modifier_25, carc="4", needs_codeset=False),
)
