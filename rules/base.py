"""The pieces every scrub rule is made of: the context it reads, the hit it yields, and the rule itself.

A rule is a plain function ``check(ctx) -> Iterable[Hit]`` wrapped in a :class:`Rule` that carries its
ID, default severity and the adjustment reason code (CARC) a payer would most likely return. The engine
turns hits into :class:`~medcore.model.ScrubFinding` objects, applying the severity a rule pack sets.

Messages must never quote PHI: no note text, names, member ids, birth dates or exact ages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from medcore.model import Encounter, Severity, Sex
from medcore.refdata.icd10cm import CodeEntry, CodeSet

if TYPE_CHECKING:
    from rules.eligibility import EligibilityClient
    from rules.ncci.store import NCCIStore


@dataclass(frozen=True, slots=True)
class Hit:
    """One problem a rule found, before the pack decides its final severity.

    ``severity`` lets a rule report some hits as at most a warning (perinatal codes past the newborn
    period, ages outside a typical but not impossible range); the pack can lower it further, never raise it.
    """

    message: str
    codes: tuple[str, ...] = ()
    fix: str = ""
    severity: Severity | None = None
    carc: str | None = None  # overrides the rule's CARC for this hit (eligibility: 27 vs 31)


@dataclass(slots=True)
class ScrubContext:
    """What a rule may read about the claim being scrubbed.

    Attributes
    ----------
    encounter : Encounter
        The coded encounter.
    codeset : CodeSet or None
        The ICD-10-CM release for the date of service; ``None`` when no shipped release covers it.
    release : str or None
        The release label.
    approximate : bool
        True when the release is another update of the same fiscal year, not the exact one.
    codeset_error : str or None
        Why no code set could be chosen (no PHI).
    diagnoses : list of str
        ICD-10-CM codes in claim order (first-listed first), as submitted (upper-cased).
    age : int or None
        Patient age in years on the date of service, when known.
    sex : Sex
        Patient sex as recorded.
    config : dict
        The rule pack's ``config`` mapping (timely filing days, prior-authorization list...).
    today : date
        The date claim timing is judged against (timely filing); injectable for tests.
    ncci : NCCIStore or None
        NCCI PTP and MUE edits; ``None`` skips the NCCI rules.
    eligibility : EligibilityClient or None
        Answers X12 270/271 eligibility questions; ``None`` (the default) skips the eligibility rule.
    """

    encounter: Encounter
    codeset: CodeSet | None
    release: str | None = None
    approximate: bool = False
    codeset_error: str | None = None
    diagnoses: list[str] = field(default_factory=list)
    age: int | None = None
    sex: Sex = Sex.unknown
    config: dict[str, Any] = field(default_factory=dict)
    today: date = field(default_factory=date.today)
    ncci: NCCIStore | None = None
    eligibility: EligibilityClient | None = None

    @property
    def dos(self) -> date:
        return self.encounter.date_of_service

    def entry(self, code: str) -> CodeEntry | None:
        return self.codeset.get(code) if self.codeset is not None else None

    def known_codes(self) -> list[str]:
        """Distinct diagnosis codes that exist in the release, dotted, in claim order."""
        out: list[str] = []
        for code in self.diagnoses:
            e = self.entry(code)
            if e is not None and e.code not in out:
                out.append(e.code)
        return out


Check = Callable[[ScrubContext], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A scrub rule.

    Parameters
    ----------
    rule_id : str
        Stable identifier such as ``ICD.BILLABLE``; packs refer to rules by it.
    severity : Severity
        Default severity, used when a pack does not set one.
    check : callable
        ``check(ctx) -> Iterable[Hit]``.
    carc : str or None
        The claim adjustment reason code a payer would most likely return.
    rarc : str or None
        The remark code that usually accompanies it (informational; findings carry the CARC only).
    needs_codeset : bool
        Skip the rule when no ICD-10-CM release covers the date of service.
    """

    rule_id: str
    severity: Severity
    check: Check
    carc: str | None = None
    rarc: str | None = None
    needs_codeset: bool = True


def line_date(ctx: ScrubContext, line: Any) -> date:
    """A service line's date: its own ``service_date`` or the encounter's date of service."""
    return line.service_date or ctx.encounter.date_of_service


def display(code: str) -> str:
    """A submitted code as it should appear in a message: as written, upper-cased."""
    return code.strip().upper()
