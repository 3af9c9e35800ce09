"""Choose the ICD-10-CM release for a date of service.

Fiscal year N runs from October 1 of N-1 to September 30 of N; an April update takes effect on
April 1. A date covered exactly by a shipped release gets that release. A date in a fiscal year for
which only another update of that year is shipped gets it, flagged ``approximate``. Any other date
raises :class:`CodeSetUnavailable` rather than silently coding against the wrong year.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from medcore.errors import CodeSetUnavailable
from medcore.refdata.icd10cm import CodeSet, load_codeset
from medcore.settings import get_settings

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "icd10cm"


def fiscal_year(d: date) -> int:
    return d.year + 1 if d.month >= 10 else d.year


@dataclass(frozen=True)
class Release:
    name: str
    fiscal_year: int
    effective_from: date
    effective_to: date
    tabular: Path
    index: Path | None
    code_list: Path | None = None
    neoplasms: Path | None = None


@dataclass(frozen=True)
class Selection:
    release: Release
    approximate: bool


@lru_cache(maxsize=8)
def releases(data_dir: Path = DATA_DIR) -> list[Release]:
    manifest = json.loads((data_dir / "releases.json").read_text())
    out = []
    for r in manifest["releases"]:
        out.append(
            Release(
                name=r["name"],
                fiscal_year=int(r["fiscal_year"]),
                effective_from=date.fromisoformat(r["effective_from"]),
                effective_to=date.fromisoformat(r["effective_to"]),
                tabular=data_dir / r["tabular"],
                index=(data_dir / r["index"]) if r.get("index") else None,
                code_list=(data_dir / r["code_list"]) if r.get("code_list") else None,
                neoplasms=(data_dir / r["neoplasms"]) if r.get("neoplasms") else None,
            )
        )
    return sorted(out, key=lambda r: r.effective_from)


def select_release(dos: date, available: list[Release] | None = None) -> Selection:
    available = available if available is not None else releases()
    for r in available:
        if r.effective_from <= dos <= r.effective_to:
            return Selection(r, approximate=False)
    same_year = [r for r in available if r.fiscal_year == fiscal_year(dos)]
    if same_year:
        return Selection(same_year[-1], approximate=True)
    names = ", ".join(r.name for r in available) or "none"
    raise CodeSetUnavailable(
        f"date_of_service {dos.isoformat()} (FY{fiscal_year(dos)}) is not covered by a shipped "
        f"ICD-10-CM release (have: {names})"
    )


@lru_cache(maxsize=4)
def _load(name: str) -> CodeSet:
    rel = next(r for r in releases() if r.name == name)
    return load_codeset(rel.tabular, rel.index, rel.name, rel.code_list, cache_dir=get_settings().var_dir / "cache",
                        neoplasms=rel.neoplasms)


def codeset_for(dos: date) -> CodeSet:
    """The code set for a date of service (cached per process)."""
    return _load(select_release(dos).release.name)


def latest_codeset() -> CodeSet:
    return _load(releases()[-1].name)
