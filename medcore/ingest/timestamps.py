"""HL7 timestamps (v2 DTM/TS and CDA TS share the form ``YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]``)."""

from __future__ import annotations

import re
from datetime import date

_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2}(?:\.\d{1,4})?)?([+-]\d{4})?$")


def hl7_date(value: str) -> date | None:
    """The calendar date of an HL7 timestamp, as written (local to the sender).

    Parameters
    ----------
    value : str
        ``20080131155500+0215``, ``19721201``, ``2015072218-0500``...

    Returns
    -------
    datetime.date or None
        None when the value is empty or less precise than a day (``1972``, ``197212``).

    Raises
    ------
    ValueError
        When the value is not an HL7 timestamp or names a day that does not exist.
    """
    value = value.strip()
    if not value:
        return None
    m = _TS.match(value)
    if m is None:
        raise ValueError("not an HL7 timestamp")
    year, month, day = m.group(1), m.group(2), m.group(3)
    if month is None or day is None:
        return None
    # The time of day is ignored: a date of service is the sender's local calendar day.
    return date(int(year), int(month), int(day))
