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
    for entry in cs.index:
        node = cs.codes.get(entry.code)
        if node is None:
            continue
        targets = [entry.code] if node.billable else _default_descendants(cs, entry.code)
        # nonessential modifiers ride along in parentheses, as in the titles: they may match a
        # mention's words but a mention need not state them
        text = f"{entry.path} {entry.nonessential}".strip()
        kind = "index_main" if entry.level == 0 else "index"
        for code in targets:
            key = (code, text)
            if key not in seen:
                seen.add(key)
                docs.append(Doc(code, text, kind))
    return docs
