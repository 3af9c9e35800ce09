"""Fixtures for the claims tests: fictional coded encounters from ``tests/fixtures/encounters``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from medcore.model import Encounter
from medcore.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "encounters"
CREATED = datetime(2026, 3, 5, 9, 30)


def load_encounter(name: str) -> Encounter:
    return Encounter.model_validate_json((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def office_visit() -> Encounter:
    """Commercial payer, billed by the settings' default practice, three lines with a modifier."""
    return load_encounter("office_visit_commercial")


@pytest.fixture
def three_encounters() -> list[Encounter]:
    """Three patients, three payers (commercial, Medicare, Medicaid) and two billing providers."""
    return [load_encounter(n) for n in ("office_visit_commercial", "followup_medicare", "telehealth_other_billing")]


@pytest.fixture
def settings() -> Settings:
    """The documented billing defaults, independent of any MEDCODE_* variables in the environment."""
    return Settings.model_construct(**{name: field.default for name, field in Settings.model_fields.items()})


@pytest.fixture
def created() -> datetime:
    """A fixed creation time, so interchanges are reproducible."""
    return CREATED
