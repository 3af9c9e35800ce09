"""Combination codes: two conditions the classification links are reported with one code.

ICD-10-CM guideline I.A.15 ("with"): conditions listed under "with" in the Alphabetic Index are
presumed linked and take the combination code, unless the provider says they are unrelated. This
module reads that from the index itself instead of a hand-made table: a code's index path such as
``Diabetes, diabetic, type 2`` (E11.9) plus a ``, with, chronic kidney disease`` subterm leads to
E11.22 when the encounter also carries a chronic kidney disease code (N18.32). The second code stays
when the combination's tabular "use additional code" note asks for it (the CKD stage), and goes when
the combination code already says everything (polyneuropathy in E11.42).

Two guideline rules the index cannot express through "with" are written out:

- I.C.9.a: hypertension with heart failure and/or chronic kidney disease is I11.0 / I12.- / I13.-,
  the causal link presumed, with I50.- and N18.- as additional codes;
- I.C.4.a and the "unspecified" convention: E1x.9 "without complications", or an unspecified code
  beside a more specific code of the same condition, is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from medcore.refdata.icd10cm import CodeSet, parse_code_refs
from serving.retriever.tokens import content_tokens, tokenize

__all__ = ["Combined", "combine"]

_WITH = ", with, "
# index subterms that describe the code rather than a second condition
_VAGUE = frozenset({"nec", "specified"})
# status, encounter and external-cause codes are not conditions a "with" subterm can name
_NOT_CONDITIONS = ("Z", "V", "W", "X", "Y")
_UNSPECIFIED = re.compile(r"\bunspecified\b", re.I)


@dataclass(slots=True)
class Combined:
    """One output code and the input codes it stands for (itself when unchanged)."""

    code: str
    sources: list[str] = field(default_factory=list)
    rule: str = ""  # why it changed: "with", "I.C.9.a", "unspecified"; "" when unchanged


@lru_cache(maxsize=4)
def _with_index(cs: CodeSet) -> dict[str, list[tuple[frozenset[str], str]]]:
    """Index path before ", with, " → [(content words of the subterm after it, billable code)]."""
    out: dict[str, list[tuple[frozenset[str], str]]] = {}
    for e in cs.codes.values():
        if not e.billable:
            continue
        for term in e.index_terms:
            if _WITH not in term:
                continue
            base, rest = term.split(_WITH, 1)
            words = frozenset(content_tokens(rest)) - _VAGUE
            if words:
                out.setdefault(base.lower(), []).append((words, e.code))
    return out


# what a title says a condition is without ("Spondylosis without myelopathy or radiculopathy") is not
# a condition it can be combined with: M47.816 is no myelopathy for M51.06
_WITHOUT = re.compile(r"\bwithout\b[^,;]*", re.I)
# the dementia titles list what they are without: "..., without behavioral disturbance, psychotic
# disturbance, mood disturbance, and anxiety"
_WITHOUT_LIST = re.compile(r"\bwithout\b[^,;]*(?:,\s*(?:and\s+)?(?:behavioral|psychotic|mood|anxiety)[^,;]*)*", re.I)
_ELSEWHERE = re.compile(r"\bin\s+(?:other\s+)?diseases\s+classified\s+elsewhere\b|\bunspecified\s+severity\b", re.I)


def _affirmed(text: str) -> set[str]:
    return content_tokens(_WITHOUT.sub(" ", text))


@lru_cache(maxsize=65536)
def _words(cs: CodeSet, code: str) -> frozenset[str]:
    e = cs.get(code)
    if e is None:
        return frozenset()
    title = content_tokens(e.description)
    words = _affirmed(e.description)
    for t in e.index_terms:
        # only entries whose main term the title names: "Cataract, myxedema" (E03.9 as the cause of
        # a cataract) must not make hypothyroidism look like a cataract
        if content_tokens(t.split(",", 1)[0]) <= title:
            words |= _affirmed(t)
    return frozenset(words)


@lru_cache(maxsize=65536)
def _title_words(cs: CodeSet, code: str) -> frozenset[str]:
    """Every word of a code's title ("other", "forms" included), for breaking ties between siblings."""
    return frozenset(tokenize(cs.get(code).description))


def _bases(cs: CodeSet, code: str) -> list[tuple[str, bool]]:
    """The index paths a code is entered under, before any "with": (path, code is the plain entry)."""
    e = cs.get(code)
    out: list[tuple[str, bool]] = []
    for t in e.index_terms if e else ():
        if _WITH in t:
            out.append((t.split(_WITH, 1)[0].lower(), False))
        else:
            out.append((t.lower(), True))
    return out


def _keeps(cs: CodeSet, combination: str, other: str) -> bool:
    """Whether the combination code's notes ask for ``other`` as an additional code, or ``other``
    says more than the combination does (I12.9 "hypertensive" CKD beside E11.22: the hypertension is
    not in the diabetes code, so I12.9 stays; I.C.9.a)."""
    notes = cs.notes_for(combination, "use_additional") + cs.notes_for(other, "code_also")
    if any(r.contains(other) for n in notes for r in parse_code_refs(n)):
        return True
    if other[:1] != combination[:1] and not content_tokens(cs.get(other).description) <= _words(cs, combination):
        return True
    # "Code also to identify the infection" (J44.0) names no codes: the other condition stays
    return any(not parse_code_refs(n) for n in cs.notes_for(combination, "code_also"))


def _with_pass(cs: CodeSet, codes: list[Combined]) -> list[Combined]:
    index = _with_index(cs)
    for a in list(codes):
        for b in list(codes):
            if a is b or a not in codes or b not in codes or a.code[:3] == b.code[:3]:
                continue
            if b.code.startswith(_NOT_CONDITIONS):
                continue
            found = _best_with(cs, index, a.code, b.code)
            if found is None:
                continue
            code, plain = found
            keep_b = _keeps(cs, code, b.code)
            if code == a.code:
                # a combination code already chosen says what b says (E11.42 beside G62.9)
                if not keep_b:
                    codes.remove(b)
                    a.sources = [*a.sources, *b.sources]
                    a.rule = a.rule or "with"
                continue
            if any(c.code == code for c in codes):
                continue
            combined = Combined(code, [*a.sources, *b.sources], "with")
            at = min(codes.index(a), codes.index(b))
            if plain:
                codes.remove(a)
            if not keep_b:
                codes.remove(b)
            codes.insert(min(at, len(codes)), combined)
    return codes


def _best_with(cs: CodeSet, index, a: str, b: str) -> tuple[str, bool] | None:
    """The combination code for condition ``a`` "with" condition ``b``, and whether ``a`` was the
    plain entry (so the combination replaces it). Subterms matching b's own title win over those
    matching only its index entries; then the more specific (more words) subterm."""
    b_words = _words(cs, b)
    b_title = _affirmed(cs.get(b).description)
    a_title = content_tokens(cs.get(a).description)
    best: tuple[tuple, str, bool] | None = None
    for path, plain in _bases(cs, a):
        for base in sorted({path, *_children(cs).get(path, ())}):
            deeper = base != path
            if deeper and not content_tokens(base[len(path) + 2 :]) & a_title:
                continue  # "coronary, native vessel" is what I25.10 says; "coronary, bypass graft" is not
            for words, code in index.get(base, ()):
                same_family = code[:3] == a[:3]
                if not same_family and (deeper or path.count(",") > 1):
                    continue  # another category only from the condition's own main entry
                if not words <= b_words:
                    continue
                rank = (words <= b_title, len(words), len(_title_words(cs, code) & _title_words(cs, b)),
                        not deeper, _neg(code))
                if best is None or rank > best[0]:
                    best = (rank, code, plain)
    return None if best is None else (best[1], best[2])


def _neg(code: str) -> tuple[int, ...]:
    """Sorts a code last among equals, so ties go to the lowest code whatever the iteration order."""
    return tuple(-ord(ch) for ch in code)


@lru_cache(maxsize=4)
def _children(cs: CodeSet) -> dict[str, list[str]]:
    """"with" base paths by the path one subterm above them."""
    out: dict[str, list[str]] = {}
    for k in _with_index(cs):
        if ", " in k:
            out.setdefault(k.rsplit(", ", 1)[0], []).append(k)
    return out


# hypertensive codes that already say "with heart failure", "with heart disease" or "with CKD"
_HTN_HF = ("I11.0", "I13.0", "I13.2")
_HTN_HEART = ("I11.9", "I13.10", "I13.11", *_HTN_HF)
_HTN_CKD = ("I12", "I13")


def hypertension_code(have: list[str]) -> str | None:
    """The I11/I12/I13 code that hypertension takes beside the coded heart failure and CKD stage
    (I.C.9.a), or None when neither is coded."""
    hf = any(c.startswith("I50") or c in _HTN_HF for c in have)
    heart = hf or any(c in _HTN_HEART for c in have)
    ckd = any(c.startswith(("N18", *_HTN_CKD)) for c in have)
    # the stage is the coded N18's when there is one (the hypertensive code follows it), else the pick's
    stages = [c for c in have if c.startswith("N18")]
    end_stage = (any(c in ("N18.5", "N18.6") for c in stages) if stages
                 else any(c in ("I12.0", "I13.11", "I13.2") for c in have))
    if heart and ckd:
        return ("I13.2" if end_stage else "I13.0") if hf else ("I13.11" if end_stage else "I13.10")
    if ckd:
        return "I12.0" if end_stage else "I12.9"
    return "I11.0" if hf else None


def _hypertension_pass(cs: CodeSet, codes: list[Combined]) -> list[Combined]:
    """I.C.9.a: hypertension with heart disease and/or CKD, the causal link presumed: I11 / I12 /
    I13, with the heart failure type (I50.-) and the CKD stage (N18.-) as additional codes."""
    htn = [c for c in codes if c.code[:3] in ("I10", "I11", "I12", "I13")]
    if not htn:
        return codes
    target = hypertension_code([c.code for c in codes])
    if target is None or not cs.is_billable(target) or [c.code for c in htn] == [target]:
        return codes
    at = codes.index(htn[0])
    merged = Combined(target, [s for c in htn for s in c.sources], "I.C.9.a")
    codes = [c for c in codes if c not in htn]
    codes.insert(min(at, len(codes)), merged)
    return codes


def _unspecified_pass(cs: CodeSet, codes: list[Combined]) -> list[Combined]:
    """Drop "without complications" and unspecified codes that a more specific code of the same
    condition already reports (E11.9 beside E11.22; I50.9 beside I50.22)."""
    out = list(codes)
    for c in codes:
        e = cs.get(c.code)
        if e is None:
            continue
        title = e.description.lower()
        if not ("without complications" in title or _UNSPECIFIED.search(title)):
            continue
        mine = content_tokens(title) - {"without", "complication", "complications"}
        for other in codes:
            if other is c or other.code[:3] != c.code[:3] or other not in out:
                continue
            if "without complications" in title or mine <= content_tokens(cs.get(other.code).description):
                out.remove(c)
                other.sources = [*other.sources, *c.sources]
                other.rule = other.rule or "unspecified"
                break
    return out


def combine(cs: CodeSet, codes: list[str]) -> list[Combined]:
    """The encounter's codes, in order, after the combination-code guidelines."""
    work = [Combined(c, [c]) for c in dict.fromkeys(codes)]
    work = _with_pass(cs, work)
    work = _hypertension_pass(cs, work)
    return _unspecified_pass(cs, work)


@dataclass(frozen=True, slots=True)
class AnyOf:
    """The code ranges one "use additional code" note names: any one of them fills it."""

    ranges: tuple

    def contains(self, code: str) -> bool:
        return any(r.contains(code) for r in self.ranges)

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.ranges)


def missing_additional(cs: CodeSet, code: str, have: list[str]) -> list[AnyOf]:
    """The "use additional code" notes of a code that name condition codes and that no code in
    ``have`` fills yet (I50.- beside I13.0; N18.1-N18.4 or N18.9 beside I13.0). Drug-control,
    status and external-cause codes are left to their own rules."""
    out = []
    for note in cs.notes_for(code, "use_additional"):
        ranges = tuple(r for r in parse_code_refs(note) if not r.lo.startswith(_NOT_CONDITIONS))
        if ranges and not any(r.contains(h) for r in ranges for h in have):
            out.append(AnyOf(ranges))
    return out


def supported(cs: CodeSet, code: str, text: str) -> int:
    """How many words of a code's title the text says, or 0 unless it says them all (words in
    parentheses are nonessential modifiers and may be missing)."""
    title = re.sub(r"\([^)]*\)", " ", cs.get(code).description)
    # a manifestation title's "in (other) diseases classified elsewhere" is the convention, not a word
    # the note says; what it is "without" is the default a mention that names none of it has
    # (F02.B0 "Dementia in other diseases classified elsewhere, moderate, without behavioral ...")
    title = _ELSEWHERE.sub(" ", title)
    absent = {w for m in _WITHOUT_LIST.finditer(title) for w in content_tokens(m.group())} - {"without"}
    if absent and not absent & content_tokens(text):
        title = _WITHOUT_LIST.sub(" ", title)
    need = content_tokens(title)
    if not need or not need <= content_tokens(text):
        return 0
    # a number must follow the same word as in the title: "stage 2", not the 2 of "type 2 diabetes"
    for m in re.finditer(r"(\w+)\s+(\d\w*)\b", title):
        if not re.search(rf"\b{re.escape(m.group(1))}\s+{re.escape(m.group(2))}\b", text, re.I):
            return 0
    return len(need)
