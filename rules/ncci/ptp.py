"""Reader for the CMS NCCI practitioner procedure-to-procedure (PTP) edit files.

CMS publishes the practitioner PTP table quarterly, split over several files, as tab-delimited text
and as xlsx. Each file opens with the AMA copyright notice and other disclaimer lines, then a header
(sometimes spread over two rows) naming seven columns::

    Column 1 | Column 2 | *=in existence prior to 1996 | Effective Date |
    Deletion Date *=no data | Modifier 0=not allowed 1=allowed 9=not applicable | PTP Edit Rationale

Dates are ``YYYYMMDD`` in the text files (an xlsx saved as CSV may give ``M/D/YYYY`` or ISO dates);
a deletion date of ``*`` means the edit is active. The reader does not rely on the header's exact
wording: it skips every line whose first two fields are not HCPCS/CPT codes and whose fourth is not a
date, so the copyright block, the header rows and blank lines all fall away.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

_CODE = re.compile(r"^[0-9A-Z]{4}[0-9A-Z]$")

MODIFIER_INDICATORS = {
    "0": "not allowed: no modifier bypasses the edit",
    "1": "allowed: an NCCI-associated modifier bypasses the edit when clinically appropriate",
    "9": "not applicable: the edit was deleted",
}


@dataclass(frozen=True, slots=True)
class PTPEdit:
    """One row of the practitioner PTP table.

    Attributes
    ----------
    column1, column2 : str
        The comprehensive code and the component code that is not paid with it.
    prior_1996 : bool
        The ``*`` flag: the edit existed before 1996.
    effective : date
    deleted : date or None
        ``None`` when the edit is active (``*`` in the file). An edit is in force on a date of service
        ``d`` when ``effective <= d`` and (``deleted`` is None or ``d < deleted``); CMS sets the deletion
        date to the first day the edit no longer applies.
    modifier : str
        ``"0"``, ``"1"`` or ``"9"`` (see ``MODIFIER_INDICATORS``).
    rationale : str
        The PTP edit rationale as published (for example "Mutually exclusive procedures").
    """

    column1: str
    column2: str
    prior_1996: bool
    effective: date
    deleted: date | None
    modifier: str
    rationale: str

    def in_force(self, dos: date) -> bool:
        return self.effective <= dos and (self.deleted is None or dos < self.deleted)


def parse_date(text: str) -> date | None:
    """A CMS file date: ``YYYYMMDD``, ``YYYY-MM-DD`` or ``M/D/YYYY``; ``*`` or empty gives ``None``."""
    t = text.strip()
    if not t or t == "*":
        return None
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    return None


def sniff_rows(path: Path) -> Iterator[list[str]]:
    """Rows of a CMS text file: tab-delimited when the file has tabs, otherwise CSV."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        head = fh.read(65536)
        fh.seek(0)
        delimiter = "\t" if "\t" in head else ","
        for row in csv.reader(fh, delimiter=delimiter):
            yield [c.strip() for c in row]


def parse_ptp_rows(rows: Iterable[list[str]]) -> Iterator[PTPEdit]:
    """PTP edits from raw rows, skipping disclaimer and header lines."""
    for row in rows:
        if len(row) < 6:
            continue
        c1, c2 = row[0].upper(), row[1].upper()
        if not (_CODE.match(c1) and _CODE.match(c2)):
            continue
        eff = parse_date(row[3])
        if eff is None:
            continue
        mod = row[5].strip()[:1]
        if mod not in MODIFIER_INDICATORS:
            continue
        yield PTPEdit(
            column1=c1,
            column2=c2,
            prior_1996=row[2].strip() == "*",
            effective=eff,
            deleted=parse_date(row[4]),
            modifier=mod,
            rationale=row[6].strip() if len(row) > 6 else "",
        )


def read_ptp(path: str | Path) -> Iterator[PTPEdit]:
    """Read a practitioner PTP file (tab-delimited text or CSV saved from the xlsx).

    Parameters
    ----------
    path : str or Path

    Yields
    ------
    PTPEdit
    """
    yield from parse_ptp_rows(sniff_rows(Path(path)))
