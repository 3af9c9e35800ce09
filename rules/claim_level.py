"""Claim-level edits that read the service lines and the payer: place of service, timely filing,
duplicate lines, bilateral and multiple procedures, and prior authorization.

Payer facts come from the rule pack's ``config`` (see ``rules/packs/cms_national.yaml``):

``timely_filing_days``
    Days from the date of service a payer kind accepts a claim: Medicare 365 (one calendar year,
    42 CFR 424.44); Medicaid and commercial vary by state and contract and are set per pack.
``telehealth_pos`` / ``telehealth_modifiers`` / ``telehealth_pos_requires_modifier``
    A telehealth encounter billed with an in-person POS needs a telehealth modifier (95, 93...), the
    Medicare rule since 2024. Whether POS 02/10 also needs one is the payer's rule
    (``telehealth_pos_requires_modifier``; off for Medicare, on in the commercial example pack).
``require_modifier_51``
    Whether the payer wants 51 on each additional surgical procedure of the day (not Medicare).
``prior_auth``
    Codes the payer authorizes in advance (``{code: note}``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from medcore.model import Setting, Severity
from rules.base import Hit, Rule, ScrubContext, line_date
from rules.cpt_groups import addon_codes, cpt_groups

_TELEHEALTH_POS = ("02", "10")
_TELEHEALTH_MODIFIERS = ("95", "93", "GT", "GQ", "FQ", "FR")
_EMERGENCY_POS = "23"
_OFFICE_EM_NOT_AT = {"21": "inpatient hospital", "23": "emergency department"}


def check_place_of_service(ctx: ScrubContext) -> Iterator[Hit]:
    groups = cpt_groups()
    pos = ctx.encounter.place_of_service
    tele_pos = tuple(ctx.config.get("telehealth_pos", _TELEHEALTH_POS))
    tele_mods = set(ctx.config.get("telehealth_modifiers", _TELEHEALTH_MODIFIERS))
    for i, ln in enumerate(ctx.encounter.procedures, start=1):
        if groups.is_ed_em(ln.code) and pos != _EMERGENCY_POS:
            yield Hit(
                f"Line {i}: emergency department E/M {ln.code} is billed with place of service {pos}; "
                f"it requires POS {_EMERGENCY_POS}.",
                (ln.code,),
                "Use POS 23 for an ED visit, or the office/outpatient E/M code for the setting where it took place.",
            )
        elif groups.is_office_em(ln.code) and pos in _OFFICE_EM_NOT_AT:
            yield Hit(
                f"Line {i}: office/outpatient E/M {ln.code} is billed with place of service {pos} "
                f"({_OFFICE_EM_NOT_AT[pos]}).",
                (ln.code,),
                "Use the E/M family for that setting (ED 99281-99285, hospital 99221-99239) or correct the POS.",
            )
    needs_mod = (pos in tele_pos and ctx.config.get("telehealth_pos_requires_modifier", False)) or (
        ctx.encounter.setting is Setting.telehealth and pos not in tele_pos
    )
    if needs_mod:
        for i, ln in enumerate(ctx.encounter.procedures, start=1):
            if groups.needs_em25(ln.code) or groups.is_em(ln.code):
                if not tele_mods.intersection(ln.modifiers):
                    where = f"POS {pos}" if pos in tele_pos else f"a telehealth visit billed with POS {pos}"
                    yield Hit(
                        f"Line {i}: {ln.code} on {where} has no telehealth modifier.",
                        (ln.code,),
                        "Append 95 (or 93 for audio-only) as the payer's telehealth policy requires.",
                    )


def check_timely_filing(ctx: ScrubContext) -> Iterator[Hit]:
    limits = ctx.config.get("timely_filing_days") or {}
    kind = ctx.encounter.payer.kind.value
    days = limits.get(kind)
    if not days:
        return
    dates = [line_date(ctx, ln) for ln in ctx.encounter.procedures] or [ctx.encounter.date_of_service]
    oldest = min(dates)
    age = (ctx.today - oldest).days
    if age > int(days):
        yield Hit(
            f"The claim is {age} days past its (earliest) date of service; the {kind} filing limit in this "
            f"pack is {days} days.",
            (),
            "File only with proof of timely filing or a qualifying exception; otherwise the service is "
            "not billable to this payer.",
        )


def _line_key(ln) -> tuple[str, tuple[str, ...]]:
    return ln.code, tuple(sorted(ln.modifiers))


def check_duplicate_lines(ctx: ScrubContext) -> Iterator[Hit]:
    groups = cpt_groups()
    seen: dict[tuple, int] = {}
    for i, ln in enumerate(ctx.encounter.procedures, start=1):
        key = (_line_key(ln), line_date(ctx, ln))
        if key in seen:
            # a repeated surgical/radiology code with no distinguishing modifier is a bilateral problem
            if _bilateral_candidate(groups, ln):
                continue
            mods = "-".join(ln.modifiers)
            yield Hit(
                f"Line {i} repeats line {seen[key]}: {ln.code}{'-' + mods if mods else ''} on the same date of service.",
                (ln.code,),
                f"Bill the service once with the total units, or add a modifier (76, 77, 91) if it was truly "
                f"repeated; otherwise remove line {i}.",
            )
        else:
            seen[key] = i


def _bilateral_candidate(groups, ln) -> bool:
    anatomic = groups.is_surgery(ln.code) or ("70010" <= ln.code <= "79999" and ln.code.isdigit())
    return anatomic and not groups.bilateral_modifiers.intersection(ln.modifiers)


def check_bilateral(ctx: ScrubContext) -> Iterator[Hit]:
    groups = cpt_groups()
    by_code: dict[tuple, list[int]] = defaultdict(list)
    for i, ln in enumerate(ctx.encounter.procedures, start=1):
        by_code[(ln.code, line_date(ctx, ln))].append(i)
    lines = ctx.encounter.procedures
    for (code, _d), idx in by_code.items():
        if len(idx) < 2:
            continue
        # a bare line is one with no modifier that tells it apart; a repeat (76/77/91/59/XS) marks the
        # second line only, so one bare line beside repeats is fine, but RT beside a bare line is not
        bare = [i for i in idx if _bilateral_candidate(groups, lines[i - 1])]
        sided = [i for i in idx if {"RT", "LT"} & set(lines[i - 1].modifiers)]
        if len(bare) >= 2 or (bare and sided):
            yield Hit(
                f"{code} appears on lines {', '.join(map(str, idx))} for one date of service without "
                "modifiers that tell the sides or sessions apart.",
                (code,),
                "For a bilateral procedure bill one line with 50 (or RT and LT lines, as the payer requires); "
                "for a distinct site or session use XS/59, 76 or 77.",
            )


def check_multiple_procedures(ctx: ScrubContext) -> Iterator[Hit]:
    if not ctx.config.get("require_modifier_51"):
        return
    groups = cpt_groups()
    addons = addon_codes()
    by_date: dict = defaultdict(list)
    for i, ln in enumerate(ctx.encounter.procedures, start=1):
        if groups.is_surgery(ln.code) and ln.code not in addons:
            by_date[line_date(ctx, ln)].append((i, ln))
    for lines in by_date.values():
        distinct = dict.fromkeys(ln.code for _, ln in lines)
        if len(distinct) < 2:
            continue
        first = lines[0][1].code
        for i, ln in lines[1:]:
            if ln.code != first and not {"51", "50", "59", "XS", "XE", "XP", "XU"} & set(ln.modifiers):
                yield Hit(
                    f"Line {i}: {ln.code} is a second procedure on the same date as {first} without modifier 51.",
                    (first, ln.code),
                    f"This payer expects 51 on each additional procedure: append 51 to line {i} "
                    "(add-on codes are exempt).",
                )


def check_prior_auth(ctx: ScrubContext) -> Iterator[Hit]:
    listed = ctx.config.get("prior_auth") or {}
    if not listed:
        return
    # the Encounter model has no prior-authorization number yet; honour one when it does
    if getattr(ctx.encounter, "prior_authorization", None):
        return
    for i, ln in enumerate(ctx.encounter.procedures, start=1):
        if ln.code in listed:
            yield Hit(
                f"Line {i}: {ln.code} requires prior authorization from this payer and the claim carries no "
                "authorization number.",
                (ln.code,),
                "Obtain the authorization (or confirm it) and report its number (837P REF*G1) before submitting.",
            )


RULES = (
    Rule("CLAIM.POS", Severity.error, check_place_of_service, carc="5", rarc="M77", needs_codeset=False),
    Rule("CLAIM.TIMELY_FILING", Severity.error, check_timely_filing, carc="29", needs_codeset=False),
    Rule("CLAIM.DUPLICATE_LINE", Severity.error, check_duplicate_lines, carc="18", needs_codeset=False),
    Rule("CLAIM.BILATERAL", Severity.error, check_bilateral, carc="4", needs_codeset=False),
    Rule("CLAIM.MULTIPLE_PROCEDURE", Severity.warning, check_multiple_procedures, carc="4", needs_codeset=False),
    Rule("PAYER.PRIOR_AUTH", Severity.error, check_prior_auth, carc="197", needs_codeset=False),
)
