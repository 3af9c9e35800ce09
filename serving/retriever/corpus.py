"""The retrieval corpus: one document per (billable code, text) pair.

Texts are the code's title, its inclusion terms, and every Alphabetic Index term path that leads to
it. Index entries that stop at a header code (the index says "-" or the code was expanded in this
release) are attached to that header's "unspecified" billable descendants, which is where a coder
lands when the note supports no more detail; the ranker can still move to a more specific sibling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medcore.refdata.icd10cm import CodeSet
from serving.retriever.tokens import tokenize


@dataclass(frozen=True, slots=True)
class Doc:
    code: str
    text: str
    kind: str  # title | inclusion | index | index_main (a main term of the Alphabetic Index)


def _default_descendants(cs: CodeSet, header: str, limit: int = 3) -> list[str]:
    kids = cs.billable_descendants(header)
    if not kids:
        return []
    unspecified = [c for c in kids if "unspecified" in cs.codes[c].description.lower()]
    pool = unspecified or (kids if len(kids) <= limit else [])
    # a 7th-character family defaults to the initial encounter
    initial = [c for c in pool if len(c.replace(".", "")) == 7 and c.endswith("A")]
    return (initial or pool)[:limit]


def build_corpus(cs: CodeSet) -> list[Doc]:
    docs: list[Doc] = []
    for e in cs.billable_codes():
        docs.append(Doc(e.code, e.description, "title"))
        for term in e.notes.get("inclusion_terms", []):
            docs.append(Doc(e.code, term, "inclusion"))
    seen: set[tuple[str, str]] = set()
    main_modifiers: dict[str, str] = {}
    for entry in cs.index:
        if entry.level == 0:
            main_modifiers[entry.path] = entry.nonessential
        node = cs.codes.get(entry.code)
        if node is None:
            continue
        # nonessential modifiers ride along in parentheses, as in the titles: they may match a
        # mention's words but a mention need not state them. The main term's modifiers apply to its
        # subterms too (convention I.A.7: "Angina (pectoris), stable" → I20.89)
        inherited = main_modifiers.get(entry.path.split(",")[0], "") if entry.level > 0 else ""
        text = " ".join(f"{entry.path} {entry.nonessential} {inherited}".split())
        kind = "index_main" if entry.level == 0 else "index"
        if node.billable:
            targets = [(entry.code, text)]
            parent = cs.codes.get(node.parent) if node.parent else None
            if _SITE_UNSPECIFIED.search(node.description) and parent is not None and not parent.billable:
                # "Arthropathy, facet joint" → M47.819 (site unspecified) also reaches M47.816 with
                # "(lumbar region)": the index names the condition, the note's level names the site
                targets += _axis_variants(cs, parent.code, text, limit=12)
        else:
            targets = [(code, text) for code in _default_descendants(cs, entry.code)]
            targets += _axis_variants(cs, entry.code, text)
        for code, doc_text in targets:
            key = (code, doc_text)
            if key not in seen:
                seen.add(key)
                docs.append(Doc(code, doc_text, kind))
    return docs


_SEX_WORDS = frozenset({"female", "male"})
_SITE_UNSPECIFIED = re.compile(r"\b(?:site|region|joint|vertebra) unspecified\b|\bunspecified (?:site|region)\b", re.I)


def _initial_encounters(cs: CodeSet, kids: list[str]) -> list[str]:
    """Billable descendants with 7th-character families cut to one code per family (its initial
    encounter, "A"), so S82.84- reaches its six laterality and displacement children, not 96 codes."""
    out, families = [], set()
    for code in kids:
        entry = cs.codes[code]
        if not (entry.generated and entry.parent):
            out.append(code)
        elif entry.parent not in families:
            family = [k for k in cs.billable_descendants(entry.parent)]
            families.add(entry.parent)
            out.append(next((k for k in family if k.endswith("A")), family[0]))
    return out


def _axis_variants(cs: CodeSet, header: str, text: str, limit: int = 6) -> list[tuple[str, str]]:
    """An index path that stops at a header ("Neoplasm, malignant, lung, upper lobe" → C34.1-) also
    reaches each of the header's few billable children, carrying the words that tell them apart
    ("right", "left") as a nonessential modifier: a note that says "right upper lobe" then lands on
    C34.11, one that says neither side on the unspecified C34.10."""
    kids = _initial_encounters(cs, cs.billable_descendants(header))
    if not 1 < len(kids) <= limit:
        return []
    base = set(tokenize(cs.codes[header].description))
    out = []
    for code in kids:
        # a 7th-character code is told apart by its parent's words (the coder re-picks the episode of
        # care): "Displaced bimalleolar fracture of left lower leg", not "..., initial encounter"
        entry = cs.codes[code]
        said = cs.codes[entry.parent].description if entry.generated and entry.parent else entry.description
        # the patient's sex is not a note's word: the coder filters codes for the other sex
        extra = [w for w in tokenize(said) if w not in base and w not in _SEX_WORDS]
        if 0 < len(extra) <= 3:
            out.append((code, f"{text} ({' '.join(extra)})", extra))
    # a path that already names one child's axis leads to that child only: "History, personal,
    # osteoporosis fractures" (Z87.31) is Z87.310, not "... (other pathological)" Z87.311
    path = set(tokenize(text))
    named = [row for row in out if path & set(row[2])]
    return [(code, doc) for code, doc, _ in (named or out)]
