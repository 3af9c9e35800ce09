"""Readers for the CMS NCCI medically unlikely edit (MUE) files.

The practitioner MUE table is published quarterly as CSV and xlsx. After the copyright and disclaimer
lines comes a header row with four columns::

    HCPCS/CPT Code | Practitioner Services MUE Values | MUE Adjudication Indicator | MUE Rationale

The adjudication indicator (MAI) is written with its meaning, for example ``1 Line Edit``,
``2 Date of Service Edit: Policy`` or ``3 Date of Service Edit: Clinical``; the reader keeps the digit.
MAI 1 limits the units on one claim line; MAI 2 and 3 limit the units of the code summed over every
line for the same date of service.

``read_medicaid_partial`` reads the partial Medicaid MUE list shipped under ``rules/data/`` (CMS NCCI,
public; 8,253 codes with unit limits and rationales, quarter unknown). It carries no MAI, so every
entry is treated as MAI 1 (per line), the least aggressive reading.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rules.ncci.ptp import sniff_rows

_CODE = re.compile(r"^[0-9A-Z]{5}$")

MAI_TEXT = {
    "1": "1 Line Edit",
    "2": "2 Date of Service Edit: Policy",
    "3": "3 Date of Service Edit: Clinical",
}

MEDICAID_PARTIAL = Path(__file__).resolve().parent.parent / "data" / "mue_medicaid_partial.json.gz"


@dataclass(frozen=True, slots=True)
class MUEEdit:
    """One MUE: the most units of a code one provider reports for one patient on one date of service.

    Attributes
    ----------
    code : str
    value : int
        Practitioner services MUE value.
    mai : str
        MUE adjudication indicator: ``"1"`` per line, ``"2"``/``"3"`` per date of service.
    rationale : str
    source : str
        Where the edit came from: ``"practitioner"`` (an imported CMS file) or ``"medicaid-partial"``.
    """

    code: str
    value: int
    mai: str
    rationale: str = ""
    source: str = "practitioner"

    @property
    def per_day(self) -> bool:
        return self.mai in ("2", "3")

    @property
    def mai_text(self) -> str:
        return MAI_TEXT.get(self.mai, self.mai)


def parse_mue_rows(rows: Iterable[list[str]], source: str = "practitioner") -> Iterator[MUEEdit]:
    """MUE edits from raw rows, skipping disclaimer and header lines."""
    for row in rows:
        if len(row) < 3:
            continue
        code = row[0].upper()
        if not _CODE.match(code):
            continue
        try:
            value = int(float(row[1]))
        except ValueError:
            continue
        mai = row[2].strip()[:1]
        if mai not in MAI_TEXT:
            continue
        yield MUEEdit(code, value, mai, row[3].strip() if len(row) > 3 else "", source)


def read_mue(path: str | Path) -> Iterator[MUEEdit]:
    """Read a practitioner MUE file (CSV as published, or tab-delimited).

    Parameters
    ----------
    path : str or Path

    Yields
    ------
    MUEEdit
    """
    yield from parse_mue_rows(sniff_rows(Path(path)))


def read_medicaid_partial(path: str | Path = MEDICAID_PARTIAL) -> Iterator[MUEEdit]:
    """Read the partial Medicaid MUE list (``{code: {limit, unit, rationale}}``, JSON or JSON.gz).

    MAI is unknown in this list, so every edit is MAI 1 (per line).
    """
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    for code, item in data.items():
        code = str(code).upper()
        if _CODE.match(code) and isinstance(item, dict) and isinstance(item.get("limit"), int):
            yield MUEEdit(code, int(item["limit"]), "1", str(item.get("rationale", "")), "medicaid-partial")
