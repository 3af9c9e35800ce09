"""Fixture encounters for the scrub rules, built in code.

The code set loads once per session (2-4 s cold, then from the pickle cache under var/cache).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

import pytest

from medcore.model import (
    CodeSuggestion,
    Encounter,
    Patient,
    Payer,
    PayerKind,
    ProcedureLine,
    ScrubFinding,
    Sex,
)
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


# ---- NCCI and claim-level rules -----------------------------------------------------------------
NCCI_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ncci"
TODAY = date(2026, 6, 15)


@pytest.fixture(scope="session")
def ncci_store():
    """The illustrative NCCI fixtures (tests/fixtures/ncci) in an in-memory store."""
    from rules.ncci import NCCIStore, read_mue, read_ptp

    store = NCCIStore(None)
    store.import_ptp(read_ptp(NCCI_FIXTURES / "ptp_practitioner_sample.txt"))
    store.import_mue(read_mue(NCCI_FIXTURES / "mue_practitioner_sample.csv"))
    return store


def make_line(code: str, *mods: str, units: int = 1, ptr: tuple[int, ...] = (1,)) -> ProcedureLine:
    return ProcedureLine(code=code, modifiers=list(mods), units=units, dx_pointers=list(ptr))


def make_claim(
    lines: list[ProcedureLine],
    dx: tuple[str, ...] = ("M17.11",),
    *,
    kind: str = "medicare",
    pos: str = "11",
    setting: str = "office",
    dos: date = DOS,
    member_id: str | None = "1EG4TE5MK72",
) -> Encounter:
    return Encounter(
        encounter_id="enc-claim-1",
        setting=setting,
        date_of_service=dos,
        place_of_service=pos,
        payer=Payer(payer_id="P1", name="FICTIONAL PAYER", kind=PayerKind(kind)),
        patient=Patient(age=66, sex=Sex.female, member_id=member_id),
        diagnoses=[CodeSuggestion(code=c, rank=i) for i, c in enumerate(dx, start=1)],
        procedures=lines,
    )


@pytest.fixture(scope="session")
def line() -> Callable[..., ProcedureLine]:
    return make_line


@pytest.fixture(scope="session")
def claim() -> Callable[..., Encounter]:
    return make_claim


@pytest.fixture(scope="session")
def scrub_claim(codeset: CodeSet, ncci_store) -> Callable[..., list[ScrubFinding]]:
    """Scrub an encounter with the fixture NCCI store and a fixed 'today'; returns findings."""

    def run(enc: Encounter, **kwargs) -> list[ScrubFinding]:
        kwargs.setdefault("today", TODAY)
        kwargs.setdefault("ncci", ncci_store)
        return scrub(enc, codeset=codeset, **kwargs)

    return run
