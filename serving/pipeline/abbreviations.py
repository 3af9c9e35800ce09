"""Expansion of clinical shorthand (DM2, HTN, SOB, s/p, h/o...) for retrieval queries.

Expansion never rewrites the note: evidence offsets index the original text. It is applied to the
query derived from a mention, and optionally restricted to a section role where an abbreviation is
ambiguous (``PE`` is pulmonary embolism in an assessment but physical exam as a header).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_DATA = Path(__file__).resolve().parent / "data" / "abbreviations.tsv"


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, tuple[str, str]], re.Pattern[str]]:
    table: dict[str, tuple[str, str]] = {}
    for line in _DATA.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        abbr, expansion, context = (line.split("\t") + ["any"])[:3]
        table[abbr] = (expansion, context or "any")
    keys = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w/])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w/])")
    return table, pattern


# ICD-10-CM names the ends of long bones "upper end"/"lower end", where notes say proximal/distal
_BONE_END = re.compile(r"\b(distal|proximal)\s+(radius|ulna|humerus|femur|tibia|fibula|radial|ulnar|humeral|femoral|"
                       r"tibial|fibular)\b", re.I)


def expand(text: str, role: str = "any") -> str:
    """Return ``text`` with known abbreviations replaced by their expansion."""
    text = _BONE_END.sub(lambda m: f"{'lower' if m.group(1).lower() == 'distal' else 'upper'} end of {m.group(2)}",
                         text)
    table, pattern = _table()

    def sub(m: re.Match[str]) -> str:
        expansion, context = table[m.group(1)]
        return expansion if context in ("any", role) else m.group(1)

    return pattern.sub(sub, text)
