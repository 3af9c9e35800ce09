"""Age and sex conflicts between a diagnosis and the patient (MCE-style edits).

The ranges live in ``rules/data/demographics.yaml`` (versioned). Sex restrictions are also read from
the tabular list: a code whose own or ancestor title names male or female genital organs (or a
male/female breast, urethra, genital region...) is sex-specific. Those hints fire only as warnings,
because payers enforce their own tables, not the tabular wording. Titles that mention a sex for some
other reason (a perpetrator, a partner, a chromosome phenotype) are left alone.

Unknown age or sex skips the check: no finding without facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from medcore.model import Severity, Sex
from medcore.refdata.icd10cm import CodeRange, CodeSet, nodot
from rules.base import Hit, Rule, ScrubContext

DEMOGRAPHICS_FILE = Path(__file__).resolve().parent / "data" / "demographics.yaml"

_FEMALE = re.compile(r"\bfemales?\b", re.I)
_MALE = re.compile(r"\bmales?\b", re.I)
# the organ words that make a male/female title a statement about the patient's anatomy
_ANATOMY = re.compile(
    r"genital|pelvi|breast|urethra|prostat|testi|scrot|penis|vulv|vagin|uter|ovar|"
    r"erectile|orgasmic|arousal|procreative|circumcision",
    re.I,
)
# a sex word that describes someone or something other than the patient's anatomy
_NOT_PATIENT = re.compile(r"partner|perpetrator|cousin|friend|phenotype|karyotype|chromosome|pseudohermaphrod", re.I)
_EXTERNAL_CAUSES = "External causes"


@dataclass(frozen=True, slots=True)
class SexEdit:
    id: str
    sex: Sex
    ranges: tuple[CodeRange, ...]


@dataclass(frozen=True, slots=True)
class AgeEdit:
    id: str
    ranges: tuple[CodeRange, ...]
    low: int
    high: int
    typical: tuple[int, int] | None
    severity: Severity
    fix: str = ""


@dataclass(frozen=True, slots=True)
class DemographicEdits:
    """The parsed ``demographics.yaml``.

    Attributes
    ----------
    version : str
        The file's version, reported in messages so a finding can be traced to its table.
    sex : tuple of SexEdit
    age : tuple of AgeEdit
    """

    version: str
    sex: tuple[SexEdit, ...]
    age: tuple[AgeEdit, ...]

    def sex_edit(self, code: str) -> SexEdit | None:
        return next((e for e in self.sex if any(r.contains(code) for r in e.ranges)), None)

    def age_edits(self, code: str) -> list[AgeEdit]:
        return [e for e in self.age if any(r.contains(code) for r in e.ranges)]


def _range(text: str) -> CodeRange:
    lo, _, hi = str(text).partition("-")
    return CodeRange(nodot(lo), nodot(hi or lo))


def load_demographics(path: Path = DEMOGRAPHICS_FILE) -> DemographicEdits:
    """Parse a demographics edit file.

    Parameters
    ----------
    path : Path
        Defaults to the bundled ``rules/data/demographics.yaml``.

    Returns
    -------
    DemographicEdits
    """
    data = yaml.safe_load(path.read_text())
    sex = tuple(
        SexEdit(e["id"], Sex(e["sex"]), tuple(_range(r) for r in e["ranges"])) for e in data.get("sex", [])
    )
    age = []
    for e in data.get("age", []):
        lo, hi = e["age"]
        typical = tuple(e["typical_age"]) if e.get("typical_age") else None
        age.append(
            AgeEdit(e["id"], tuple(_range(r) for r in e["ranges"]), int(lo), int(hi), typical,
                    Severity(e.get("severity", "error")), str(e.get("fix", "")))
        )
    return DemographicEdits(str(data["version"]), sex, tuple(age))


@lru_cache(maxsize=1)
def default_demographics() -> DemographicEdits:
    return load_demographics()


@lru_cache(maxsize=65536)
def _sex_edit(code: str) -> SexEdit | None:
    return default_demographics().sex_edit(code)


@lru_cache(maxsize=65536)
def _age_edits(code: str) -> tuple[AgeEdit, ...]:
    return tuple(default_demographics().age_edits(code))


@lru_cache(maxsize=65536)
def tabular_sex(cs: CodeSet, code: str) -> Sex:
    """The sex a code's own or ancestor titles restrict it to, or ``Sex.unknown``.

    Parameters
    ----------
    cs : CodeSet
    code : str

    Returns
    -------
    Sex
        ``male`` or ``female`` only when a title names exactly one sex together with an anatomical
        word, outside the external-cause chapter.
    """
    e = cs.get(code)
    if e is None:
        return Sex.unknown
    chapter = cs.chapters.get(e.chapter)
    if chapter is not None and chapter.description.startswith(_EXTERNAL_CAUSES):
        return Sex.unknown
    for node in [e, *cs.ancestors(code)]:
        title = node.description
        f, m = bool(_FEMALE.search(title)), bool(_MALE.search(title))
        if f == m or _NOT_PATIENT.search(title) or not _ANATOMY.search(title):
            continue
        return Sex.female if f else Sex.male
    return Sex.unknown


def conflicts_with_age(code: str, age: int | None) -> bool:
    """Whether a code's hard age edit (maternity 9-64, perinatal and newborn 0, ...) excludes this
    age; an unknown age conflicts with nothing."""
    return age is not None and any(not e.low <= age <= e.high for e in _age_edits(code))


def conflicts_with_sex(cs: CodeSet, code: str, sex: Sex) -> bool:
    """Whether a code is restricted to the other sex (the edit table, else the tabular titles);
    False when the patient's sex is unknown."""
    if sex not in (Sex.male, Sex.female):
        return False
    edit = _sex_edit(code)
    restricted = edit.sex if edit is not None else tabular_sex(cs, code)
    return restricted in (Sex.male, Sex.female) and restricted != sex


_SEX_WORD = {Sex.female: "female", Sex.male: "male"}


def check_sex(ctx: ScrubContext) -> Iterator[Hit]:
    if ctx.sex not in _SEX_WORD or ctx.codeset is None:
        return
    edits = default_demographics()
    for code in ctx.known_codes():
        edit = _sex_edit(code)
        if edit is not None:
            if edit.sex != ctx.sex:
                yield Hit(
                    f"{code} is a {_SEX_WORD[edit.sex]}-only diagnosis ({edit.id}, demographics "
                    f"v{edits.version}) on a claim for a {_SEX_WORD[ctx.sex]} patient.",
                    (code,),
                    _sex_fix(),
                )
            continue
        hinted = tabular_sex(ctx.codeset, code)
        if hinted in _SEX_WORD and hinted != ctx.sex:
            yield Hit(
                f"{code}: its ICD-10-CM title is {_SEX_WORD[hinted]}-specific; the patient is recorded "
                f"as {_SEX_WORD[ctx.sex]}.",
                (code,),
                _sex_fix(),
                Severity.warning,
            )


def _sex_fix() -> str:
    return (
        "Verify the patient's recorded sex and the code. If both are right (for example a transgender "
        "patient), follow the payer's override (Medicare: KX modifier on the affected lines)."
    )


def check_age(ctx: ScrubContext) -> Iterator[Hit]:
    if ctx.age is None or ctx.codeset is None:
        return
    edits = default_demographics()
    for code in ctx.known_codes():
        for edit in _age_edits(code):
            # never quote the exact age: ages over 89 are themselves identifiers
            if not edit.low <= ctx.age <= edit.high:
                yield Hit(
                    f"{code} is limited to ages {edit.low}-{edit.high} ({edit.id}, demographics "
                    f"v{edits.version}); the patient's age on the date of service is outside it.",
                    (code,),
                    _age_fix(edit),
                    edit.severity,
                )
            elif edit.typical and not edit.typical[0] <= ctx.age <= edit.typical[1]:
                yield Hit(
                    f"{code} is unusual outside ages {edit.typical[0]}-{edit.typical[1]} ({edit.id}); "
                    "the patient's age on the date of service is outside that range.",
                    (code,),
                    _age_fix(edit),
                    Severity.warning,
                )


def _age_fix(edit: AgeEdit) -> str:
    return edit.fix or "Verify the patient's date of birth and the diagnosis code."


RULES = (
    Rule("ICD.AGE", Severity.error, check_age, carc="9"),
    Rule("ICD.SEX", Severity.error, check_sex, carc="10"),
)
