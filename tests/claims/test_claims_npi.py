from __future__ import annotations

import pytest

from claims.npi import is_valid_npi, npi_check_digit


def test_settings_default_npi_is_valid() -> None:
    assert is_valid_npi("1234567893")


def test_wrong_check_digit_is_invalid() -> None:
    assert not is_valid_npi("1234567890")


@pytest.mark.parametrize("npi", ["1245319599", "1003000126"])
def test_fixture_npis_are_valid(npi: str) -> None:
    assert is_valid_npi(npi)


@pytest.mark.parametrize("npi", [None, "", "123456789", "12345678930", "123456789O", "１２３４５６７８９３"])
def test_malformed_npis_are_invalid(npi: str | None) -> None:
    assert not is_valid_npi(npi)


def test_check_digit_completes_first_nine_digits() -> None:
    assert npi_check_digit("123456789") == 3
    with pytest.raises(ValueError):
        npi_check_digit("12345678")
