"""CPT/HCPCS code groups used by the claim-level rules, read from ``rules/data/cpt_groups.yaml``.

Ranges are inclusive and compared as five-character strings, which is exact for numeric CPT codes.
Only code numbers live here; CPT descriptors are AMA-licensed and never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CPT_GROUPS_FILE = Path(__file__).resolve().parent / "data" / "cpt_groups.yaml"
ADDON_FILE = Path(__file__).resolve().parent / "data" / "addon_codes.yaml"


def _ranges(items: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        lo, _, hi = str(item).partition("-")
        out.append((lo.strip(), (hi or lo).strip()))
    return tuple(out)


def _within(code: str, ranges: tuple[tuple[str, str], ...]) -> bool:
    return len(code) == 5 and code.isdigit() and any(lo <= code <= hi for lo, hi in ranges)


@dataclass(frozen=True, slots=True)
class CptGroups:
    """The parsed ``cpt_groups.yaml`` (see the file for each group's source)."""

    version: str
    em: tuple[tuple[str, str], ...]
    em_office: tuple[tuple[str, str], ...]
    em_ed: tuple[tuple[str, str], ...]
    em25_exempt: tuple[tuple[str, str], ...]
    surgery: tuple[tuple[str, str], ...]
    ptp_bypass_modifiers: frozenset[str]
    bilateral_modifiers: frozenset[str]

    def is_em(self, code: str) -> bool:
        return _within(code, self.em)

    def is_office_em(self, code: str) -> bool:
        return _within(code, self.em_office)

    def is_ed_em(self, code: str) -> bool:
        return _within(code, self.em_ed)

    def is_surgery(self, code: str) -> bool:
        return _within(code, self.surgery)

    def needs_em25(self, code: str) -> bool:
        """Whether this code on the claim makes modifier 25 necessary on a same-day E/M."""
        if self.is_em(code) or _within(code, self.em25_exempt):
            return False
        if not code[:1].isdigit():  # HCPCS Level II: drugs, supplies, G-code add-ons
            return False
        return not code.endswith("F")  # Category II performance measures


@lru_cache(maxsize=1)
def cpt_groups(path: Path = CPT_GROUPS_FILE) -> CptGroups:
    d = yaml.safe_load(path.read_text())
    return CptGroups(
        version=str(d["version"]),
        em=_ranges(d["em"]),
        em_office=_ranges(d["em_office"]),
        em_ed=_ranges(d["em_ed"]),
        em25_exempt=_ranges(d["em25_exempt"]),
        surgery=_ranges(d["surgery"]),
        ptp_bypass_modifiers=frozenset(d["ptp_bypass_modifiers"]),
        bilateral_modifiers=frozenset(d["bilateral_modifiers"]),
    )


@lru_cache(maxsize=1)
def addon_codes(path: Path = ADDON_FILE) -> dict[str, frozenset[str]]:
    """Add-on code → the primary codes it may be reported with (``rules/data/addon_codes.yaml``)."""
    d = yaml.safe_load(path.read_text())
    return {str(k): frozenset(str(p) for p in v["primaries"]) for k, v in (d.get("addons") or {}).items()}
