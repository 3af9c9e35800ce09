"""ICD-10-CM Official Guidelines applied to the coder's picks, one function per rule.

- I.C.19.a: the 7th character for injuries reflects the episode of care: A (initial) while the
  patient receives active treatment, D (subsequent) for routine care during healing or recovery,
  S (sequela) for late effects; fractures are closed unless documented open, and subsequent
  encounters are routine healing unless delayed healing, nonunion or malunion is documented.
"""

from __future__ import annotations

import re

from medcore.refdata.icd10cm import CodeSet, dotted, nodot

_SEQUELA = re.compile(r"\b(?:sequela\w*|late effects?|residual\w*|scar(?:ring)? from)\b", re.I)
_SUBSEQUENT = re.compile(
    r"\b(?:subsequent (?:encounter|visit|care)|routine healing|healing (?:well|fracture|as expected)|"
    r"cast (?:check|removal|change)|post-?op(?:erative)? (?:visit|check|follow[- ]?up)|"
    r"(?:fracture|injury) (?:follow[- ]?up|f/u)|weeks? (?:after|post|s/p)|"
    r"in (?:a )?(?:cast|boot|splint) (?:since|for)|aftercare|recheck of (?:the )?(?:fracture|injury))\b",
    re.I,
)
_OPEN = re.compile(r"\bopen (?:fracture|fx)\b|\bcompound fracture\b|\bbone (?:visible|exposed)\b", re.I)
_HEALING = (
    ("nonunion", re.compile(r"\bnon-?union\b", re.I)),
    ("malunion", re.compile(r"\bmal-?union\b", re.I)),
    ("delayed healing", re.compile(r"\bdelayed (?:healing|union)\b", re.I)),
)


def episode_of_care(cs: CodeSet, code: str, mention: str, note: str) -> str:
    """Re-pick the 7th character of an injury code from the documentation (I.C.19.a)."""
    entry = cs.get(code)
    if entry is None or not entry.generated or not entry.parent:
        return code
    defs = cs.seven_chr_for(entry.parent)
    if not defs:
        return code
    text = f"{mention}\n{note}"
    if _SEQUELA.search(mention):
        episode = "sequela"
    elif _SUBSEQUENT.search(mention) or _SUBSEQUENT.search(note):
        episode = "subsequent"
    else:
        episode = "initial"
    options = {ch: meaning.lower() for ch, meaning in defs.items() if episode in meaning.lower()}
    if not options:
        return code
    is_open = bool(_OPEN.search(text))
    healing = next((name for name, rx in _HEALING if rx.search(text)), "routine healing")

    def fits(meaning: str) -> int:
        score = 0
        if "fracture" in meaning:
            score += 2 if ("open" in meaning) == is_open else 0
            if episode == "subsequent":
                score += 2 if healing in meaning else 0
            # "type I or II" is the open fracture default when the type is not documented
            score += 1 if "type i or ii" in meaning or "closed" in meaning else 0
        return score

    ch = max(sorted(options), key=lambda c: fits(options[c]))
    chosen = dotted(nodot(entry.parent).ljust(6, "X") + ch)
    return chosen if cs.is_billable(chosen) else code
