"""Fixture encounters for the scrub rules, built in code.

The code set loads once per session (2-4 s cold, then from the pickle cache under var/cache).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import pytest

from medcore.model import CodeSuggestion, Encounter, Patient, ProcedureLine, ScrubFinding, Sex
from medcore.refdata.icd10cm import CodeSet
from medcore.refdata.releases import codeset_for
from rules import scrub

DOS = date(2026, 5, 1)  # covered exactly by the shipped FY2026-April release


@pytest.fixture(scope="session")
def codeset() -> CodeSet:
    return codeset_for(DOS)


def make_encounter(
    codes: Iterable[str],
    *,
    age: int | None = 58,
    sex: Sex | str = Sex.male,
    dos: date = DOS,
    procedures: Iterable[ProcedureLine] = (),
    birth_date: date | None = None,
) -> Encounter:
    return Encounter(
        encounter_id="enc-test-1",
        date_of_service=dos,
        patient=Patient(age=age, sex=Sex(sex), birth_date=birth_date),
        diagnoses=[CodeSuggestion(code=c, rank=i) for i, c in enumerate(codes, start=1)],
        procedures=list(procedures),
    )


@pytest.fixture(scope="session")
def encounter() -> Callable[..., Encounter]:
    return make_encounter


@pytest.fixture(scope="session")
def scrub_codes(codeset: CodeSet) -> Callable[..., list[ScrubFinding]]:
    """Scrub an encounter built from codes (keyword arguments as for make_encounter)."""

    def run(codes: Iterable[str], **kwargs) -> list[ScrubFinding]:
        return scrub(make_encounter(codes, **kwargs), codeset=codeset)

    return run
