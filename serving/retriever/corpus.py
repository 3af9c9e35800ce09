"""The retrieval corpus: one document per (billable code, text) pair.

Texts are the code's title, its inclusion terms, and every Alphabetic Index term path that leads to
it. Index entries that stop at a header code (the index says "-" or the code was expanded in this
release) are attached to that header's "unspecified" billable descendants, which is where a coder
lands when the note supports no more detail; the ranker can still move to a more specific sibling.
"""

from __future__ import annotations

from dataclasses import dataclass

from medcore.refdata.icd10cm import CodeSet


@dataclass(frozen=True, slots=True)
class Doc:
    code: str
    text: str
    kind: str  # title | inclusion | index


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
    for entry in cs.index:
        node = cs.codes.get(entry.code)
        if node is None:
            continue
        targets = [entry.code] if node.billable else _default_descendants(cs, entry.code)
        for code in targets:
            key = (code, entry.path)
            if key not in seen:
                seen.add(key)
                docs.append(Doc(code, entry.path, "index"))
    return docs
