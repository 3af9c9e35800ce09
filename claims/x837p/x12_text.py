"""Encounter text as an X12 file can carry it: upper-case ASCII, no delimiters, within length."""

from __future__ import annotations

import unicodedata

from medcore.errors import ClaimBuildError


def x12_text(
    value: str | None, field: str, *, max_length: int, min_length: int = 1, upper: bool = True
) -> str:
    if value is None:
        raise ClaimBuildError(field, "is required")
    text = " ".join(value.split())
    if upper:
        # Fold accents (MUÑOZ -> MUNOZ); anything still outside ASCII is refused below, not dropped.
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).upper()
    if not text.isascii() or any(c in "*:^~" or not c.isprintable() for c in text):
        raise ClaimBuildError(field, "contains a character an X12 file cannot carry (* : ^ ~ or non-ASCII)")
    if not min_length <= len(text) <= max_length:
        raise ClaimBuildError(field, f"must be {min_length} to {max_length} characters, not {len(text)}")
    return text


def person_name(raw: str, field: str) -> tuple[str, str | None, str | None, str | None]:
    """``(last, first, middle, suffix)`` from ``LAST^FIRST^MIDDLE^SUFFIX``, ``LAST, FIRST M`` or ``FIRST M LAST``."""
    if "^" in raw:
        parts = [p.strip() for p in raw.split("^")] + [""] * 4
        last, first, middle, suffix = parts[:4]
    elif "," in raw:
        last, _, rest = raw.partition(",")
        given = rest.split()
        first = given[0] if given else ""
        middle = " ".join(given[1:])
        suffix = ""
    else:
        words = raw.split()
        last = words[-1] if words else ""
        first = words[0] if len(words) > 1 else ""
        middle = " ".join(words[1:-1])
        suffix = ""
    if not last.strip():
        raise ClaimBuildError(field, "has no last name")
    return (
        x12_text(last, field, max_length=60),
        x12_text(first, field, max_length=35) if first.strip() else None,
        x12_text(middle, field, max_length=25) if middle.strip() else None,
        x12_text(suffix, field, max_length=10) if suffix.strip() else None,
    )
