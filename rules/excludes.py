"""Excludes1 pairs: two codes on one claim that the tabular list says are never coded together.

A code's Excludes1 notes apply to it and are inherited from its ancestors. Reading the code references
out of those notes needs care, because the tabular list writes some of them in ways a plain range
parser over-reads:

* a qualified reference such as ``(E08-E13 with .42)`` means E08.42, E09.42, ... E13.42, not the whole
  range; ``.NN`` qualifiers are expanded, every other ``with`` qualifier ("with 5th character 9",
  "with 7th character B") is dropped rather than guessed;
* a reference that spans chapters (T88.7's "A00-R94 and T80-T88.6") says where specified conditions
  are classified, and is dropped;
* a note never excludes the subtree it sits on (D72's "basophilia (D72.824)").

Code references are read with this module's own pattern: ``medcore.refdata.icd10cm.parse_code_refs``
(behind ``CodeSet.excludes1``) splits "E08-E13" into its two end points, which loses E09-E11.

Only pairs of distinct codes, both on the claim, are flagged; a code is never flagged against itself.

Guideline I.A.12.a makes one exception: an Excludes1 pair may be coded together when the two
conditions are unrelated. A scrubber cannot see that in the documentation, so the finding is an error
by default and the fix names the exception; a pack may lower it to a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from medcore.model import Severity
from medcore.refdata.icd10cm import CodeRange, CodeSet, nodot
from rules.base import Hit, Rule, ScrubContext

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
# "E08.-", "O00-O9A", "R10.0-R10.9", "A15.0", "M05.5-" (a trailing hyphen alone marks an incomplete code)
_CODE_REF = re.compile(rf"\b({_CODE})(?:\.-)?(?:\s*-\s*({_CODE})(?:\.-)?)?")
_PAREN = re.compile(r"\(([^()]*)\)")
_HAS_CODE = re.compile(r"[A-Z][0-9][0-9A-Z]")
_WITH_SUFFIX = re.compile(r"\bwith\s+\.([0-9A-Z]{1,3})-?\s*$")


def parse_code_refs(text: str) -> list[CodeRange]:
    """Code references in an instructional note, as prefix ranges (``E08-E13`` is one range).

    Parameters
    ----------
    text : str

    Returns
    -------
    list of CodeRange
    """
    out: list[CodeRange] = []
    for m in _CODE_REF.finditer(text):
        lo = nodot(m.group(1))
        out.append(CodeRange(lo, nodot(m.group(2)) if m.group(2) else lo))
    return out


def _note_ranges(cs: CodeSet, note: str) -> list[CodeRange]:
    out: list[CodeRange] = []
    plain_parts: list[str] = []
    last = 0
    for m in _PAREN.finditer(note):
        group = m.group(1)
        if _HAS_CODE.search(group) and re.search(r"\bwith\b", group):
            plain_parts.append(note[last:m.start()])
            last = m.end()
            suffix = _WITH_SUFFIX.search(group)
            if suffix:
                for r in parse_code_refs(group[: suffix.start()]):
                    out.extend(_expand_suffix(cs, r, suffix.group(1)))
    plain_parts.append(note[last:])
    out.extend(parse_code_refs(" ".join(plain_parts)))
    return out


@lru_cache(maxsize=8)
def _categories(cs: CodeSet) -> tuple[str, ...]:
    return tuple(sorted(nodot(c) for c, e in cs.codes.items() if e.parent is None))


def _expand_suffix(cs: CodeSet, r: CodeRange, suffix: str) -> list[CodeRange]:
    return [CodeRange(cat + suffix, cat + suffix) for cat in _categories(cs) if r.contains(cat)]


def _spans_chapters(cs: CodeSet, r: CodeRange) -> bool:
    if r.lo == r.hi:
        return False
    lo, hi = cs.get(r.lo), cs.get(r.hi)
    if lo is None or hi is None:
        return r.lo[0] != r.hi[0]
    return lo.chapter != hi.chapter


@lru_cache(maxsize=65536)
def _excluded_ranges(cs: CodeSet, code: str) -> tuple[CodeRange, ...]:
    e = cs.get(code)
    if e is None:
        return ()
    out: list[CodeRange] = []
    for node in [e, *cs.ancestors(code)]:
        own = nodot(node.code)
        for note in node.notes.get("excludes1", []):
            for r in _note_ranges(cs, note):
                if _spans_chapters(cs, r):
                    continue  # a pointer to where things are classified, not an exclusion
                if r.contains(own) or r.lo.startswith(own):
                    continue  # a note never excludes its own subtree
                out.append(r)
    return tuple(out)


def excluded_by(cs: CodeSet, code: str, other: str) -> bool:
    """Whether ``code``'s Excludes1 notes (own or inherited) cover ``other``.

    Parameters
    ----------
    cs : CodeSet
    code, other : str
        Codes in the release; identical codes never exclude each other.

    Returns
    -------
    bool
    """
    e = cs.get(code)
    if e is None or nodot(code) == nodot(other):
        return False
    return any(r.contains(other) for r in _excluded_ranges(cs, e.code))


def check_excludes1(ctx: ScrubContext) -> Iterator[Hit]:
    cs = ctx.codeset
    assert cs is not None
    codes = ctx.known_codes()
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            if excluded_by(cs, a, b) or excluded_by(cs, b, a):
                yield Hit(
                    f"{a} and {b} are an Excludes1 pair: the tabular list says they are not coded together.",
                    (a, b),
                    f"Keep {a} (listed first) and remove {b}, unless the documentation supports {b} "
                    f"instead. Both may stay only if the record shows the conditions are unrelated "
                    f"(guideline I.A.12.a exception).",
                )


RULES = (Rule("ICD.EXCLUDES1", Severity.error, check_excludes1, carc="16", rarc="M76"),)
