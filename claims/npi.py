"""National Provider Identifier check digit (CMS NPI standard, ISO/IEC 7812 Luhn with prefix 80840)."""

from __future__ import annotations

# An NPI is a card-issuer-style number whose implied prefix 80840 identifies US health
# applications; the Luhn check runs over that prefix plus the first nine digits.
_HEALTH_PREFIX = "80840"


def npi_check_digit(first_nine: str) -> int:
    """Return the Luhn check digit for the first nine digits of an NPI.

    Parameters
    ----------
    first_nine : str
        Exactly nine ASCII digits.

    Returns
    -------
    int
        The tenth digit that makes the NPI valid.

    Raises
    ------
    ValueError
        If ``first_nine`` is not nine digits.
    """
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValueError("an NPI check digit needs exactly nine digits")
    total = 0
    # Double every second digit counting leftwards from the one next to the check digit.
    for position, char in enumerate(reversed(_HEALTH_PREFIX + first_nine)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def is_valid_npi(npi: str | None) -> bool:
    """Tell whether ``npi`` is ten digits with a correct check digit.

    Parameters
    ----------
    npi : str or None
        The candidate NPI, without spaces or dashes.

    Returns
    -------
    bool
        ``True`` only for a ten-digit string whose last digit is the Luhn check digit
        computed over ``80840`` and the first nine digits.

    Examples
    --------
    >>> is_valid_npi("1234567893")
    True
    >>> is_valid_npi("1234567890")
    False
    """
    if not isinstance(npi, str) or len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    return npi_check_digit(npi[:9]) == int(npi[9])
