"""Run a rule pack over one encounter.

The engine chooses the ICD-10-CM release for the date of service, builds a :class:`ScrubContext`, runs
the pack's enabled rules in order and turns their hits into findings. It never raises for a problem
in the claim: a date of service no shipped release covers becomes an ``ICD.NO_CODESET_FOR_DOS`` finding.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from medcore.errors import CodeSetUnavailable
from medcore.model import Encounter, ScrubFinding, Severity
from medcore.refdata.icd10cm import CodeSet
from medcore.refdata.releases import codeset_for, fiscal_year, releases, select_release
from rules import (
    claim_edits,
    claim_level,
    demographics,
    eligibility,
    excludes,
    ncci_edits,
    sequencing,
    validity,
)
from rules.base import Hit, Rule, ScrubContext
from rules.eligibility import EligibilityClient
from rules.ncci.store import NCCIStore, default_store
from rules.pack import PackError, RulePack, default_pack

RULES: dict[str, Rule] = {
    r.rule_id: r
    for module in (validity, claim_edits, demographics, excludes, sequencing, ncci_edits, claim_level, eligibility)
    for r in module.RULES
}
"""Every rule the engine knows, by ID."""


def build_context(encounter: Encounter, codeset: CodeSet | None = None) -> ScrubContext:
    """The context rules read: the release for the date of service, claim diagnoses, age and sex.

    Parameters
    ----------
    encounter : Encounter
    codeset : CodeSet, optional
        Use this release instead of choosing one by date of service (tests, what-if runs).

    Returns
    -------
    ScrubContext
    """
    dos = encounter.date_of_service
    ctx = ScrubContext(
        encounter=encounter,
        codeset=codeset,
        release=codeset.release if codeset is not None else None,
        diagnoses=[d.code for d in encounter.diagnoses if d.system == "ICD-10-CM"],
        age=encounter.patient.age_on(dos),
        sex=encounter.patient.sex,
    )
    if codeset is None:
        ctx.codeset, ctx.release, ctx.approximate, ctx.codeset_error = _release_for(dos)
    return ctx


@lru_cache(maxsize=4096)
def _release_for(dos: date) -> tuple[CodeSet | None, str | None, bool, str | None]:
    # cached per date: the release manifest is read from disk on every select_release call
    try:
        selection = select_release(dos)
        return codeset_for(dos), selection.release.name, selection.approximate, None
    except CodeSetUnavailable:
        # not the exception text: it quotes the date of service, itself a PHI element
        have = ", ".join(r.name for r in releases()) or "none"
        return None, None, False, f"fiscal year FY{fiscal_year(dos)}; shipped releases: {have}"


def _severity(hit: Hit, setting: Severity | None, rule: Rule) -> Severity:
    chosen = setting or rule.severity
    # a hit may lower itself to a warning; the pack may lower a rule; neither raises the other
    if hit.severity is Severity.warning or chosen is Severity.warning:
        return Severity.warning
    return Severity.error


def scrub(
    encounter: Encounter,
    *,
    codeset: CodeSet | None = None,
    pack: RulePack | None = None,
    today: date | None = None,
    ncci: NCCIStore | None = None,
    eligibility: EligibilityClient | None = None,
) -> list[ScrubFinding]:
    """Scrub one coded encounter.

    Parameters
    ----------
    encounter : Encounter
        Its ICD-10-CM ``diagnoses`` are the claim diagnoses, first-listed first; procedure lines point
        at them by 1-based position.
    codeset : CodeSet, optional
        The release to check against; by default the one in effect on the date of service.
    pack : RulePack, optional
        Which rules run, in what order, at what severity; defaults to ``cms_national``. Its ``config``
        supplies payer facts (timely filing days, prior-authorization codes, telehealth policy).
    today : date, optional
        The date timely filing is judged against; defaults to the system date.
    ncci : NCCIStore, optional
        NCCI PTP/MUE edits; defaults to the store imported under ``var_dir/ncci`` (or, when none was
        imported, an empty PTP table with the shipped partial Medicaid MUE list).
    eligibility : EligibilityClient, optional
        Turns on ``PAYER.ELIGIBILITY`` (a 270/271 inquiry per claim). Off by default.

    Returns
    -------
    list of ScrubFinding
        In pack order, then in the order each rule found them. Empty for a clean claim.

    Raises
    ------
    PackError
        When the pack names a rule the engine does not have.
    """
    pack = pack or default_pack()
    unknown = [rid for rid in pack.rules if rid not in RULES]
    if unknown:
        raise PackError(f"pack {pack.name} names unknown rules: {', '.join(unknown)}")
    ctx = build_context(encounter, codeset)
    ctx.config = pack.config
    ctx.today = today or date.today()
    ctx.ncci = ncci if ncci is not None else default_store()
    ctx.eligibility = eligibility
    findings: list[ScrubFinding] = []
    for rid, setting in pack.enabled():
        rule = RULES[rid]
        if rule.needs_codeset and ctx.codeset is None:
            continue
        for hit in rule.check(ctx):
            findings.append(
                ScrubFinding(
                    rule_id=rid,
                    severity=_severity(hit, setting.severity, rule),
                    message=hit.message,
                    codes=list(hit.codes),
                    fix=hit.fix,
                    carc=hit.carc or rule.carc,
                    rarc=getattr(hit, "rarc", None) or rule.rarc,
                )
            )
    return findings
