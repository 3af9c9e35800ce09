"""validate_837p: broken interchanges fail with their errors listed."""

from __future__ import annotations

from claims.x837p.build import build_837p, claim_from_encounter
from claims.x837p.validate import validate_837p
from medcore.model import Encounter


def _text(encounters: list[Encounter], settings, created) -> str:
    return build_837p([(e, claim_from_encounter(e)) for e in encounters], settings=settings, created=created)


def test_dropped_clm_fails(three_encounters: list[Encounter], settings, created) -> None:
    text = _text(three_encounters, settings, created)
    broken = "\n".join(line for line in text.splitlines() if not line.startswith("CLM*ENC-0001*"))
    result = validate_837p(broken)
    assert not result.valid
    assert any("SE count" in e for e in result.errors)
    assert any(e.startswith("ST 0001 line") and " HI " in e for e in result.errors)


def test_bad_npi_fails(office_visit: Encounter, settings, created) -> None:
    text = _text([office_visit], settings, created).replace("XX*1234567893~", "XX*1234567890~")
    result = validate_837p(text)
    assert not result.valid
    assert result.errors == ["segment 9 NM1*85 NM109: the NPI fails its check digit (Luhn, prefix 80840)"]


def test_wrong_segment_count_fails(office_visit: Encounter, settings, created) -> None:
    text = _text([office_visit], settings, created)
    se = next(line for line in text.splitlines() if line.startswith("SE*"))
    count = int(se.split("*")[1])
    result = validate_837p(text.replace(se, f"SE*{count + 1}*0001~"))
    assert not result.valid
    assert any("SE count" in e for e in result.errors)


def test_bad_code_value_fails(office_visit: Encounter, settings, created) -> None:
    text = _text([office_visit], settings, created).replace("DMG*D8*19800412*F~", "DMG*D8*19800412*X~")
    result = validate_837p(text)
    assert not result.valid
    assert any("DMG03" in e for e in result.errors)


def test_truncated_and_non_x12_input(office_visit: Encounter, settings, created) -> None:
    truncated = validate_837p(_text([office_visit], settings, created)[:400])
    assert not truncated.valid and any("missing" in e for e in truncated.errors)
    assert validate_837p("not x12").errors == ["not an X12 interchange: it does not start with ISA"]


def test_single_line_text_validates(office_visit: Encounter, settings, created) -> None:
    assert validate_837p(_text([office_visit], settings, created).replace("\n", "")).valid
