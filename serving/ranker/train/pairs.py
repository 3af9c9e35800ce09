"""Training pairs from the public reference data the project ships, and nothing else.

Positives (a query a note might contain → the code it names):

- Alphabetic Index term paths, rewritten as a clinician would say them ("Pneumonia, aspiration, due
  to food" → "aspiration pneumonia due to food"), where the path leads to exactly one billable code;
- inclusion terms and titles (with "unspecified" dropped: a mention that says no more lands there);
- variants of those: abbreviations from ``abbreviations.tsv`` put back ("DM2", "CKD"), typos, and
  synthetic mention contexts ("Type 2 diabetes with CKD, stable, continue meds.").

Negatives: siblings in the same category (the ranker must learn that "with CKD" is needed for E11.22
and that "unspecified" is right when the note says nothing more), hard negatives from the project's own
BM25 retriever, and a random code. A negative never has the positive's code or the positive's text.

Held-out split: by code family (a 7th-character code goes with the code it extends), so the
validation metric is on codes the model never saw as positives.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from medcore.refdata.icd10cm import CodeSet
from serving.pipeline.abbreviations import _DATA as ABBREVIATIONS_TSV
from serving.ranker.cross import doc_text
from serving.retriever.corpus import _default_descendants

__all__ = ["Example", "Group", "PairBuilder", "abbreviate", "family", "index_phrase", "is_heldout", "typo"]

_CONNECTOR = re.compile(r"^(?:with|without|due to|in|of|from|following|after|by|on|involving|secondary to|"
                        r"associated with|complicating|during|as|at|to|for|not|NEC|NOS)\b", re.I)
_PAREN = re.compile(r"\s*\([^)]*\)|\s*\[[^\]]*\]")

EXTERNAL_CAUSE_SHARE = 0.2

CONTEXTS: tuple[str, ...] = (
    "{t}",
    "{t}",
    "{t}, stable",
    "{t} - stable, continue current meds",
    "{t}, improved",
    "{t}: continue current management",
    "{t}, well controlled on current regimen",
    "{t}, worsening",
    "Patient with {t}.",
    "Follow-up for {t}.",
    "{t}, chronic",
    "Presents with {t}.",
    "Assessment: {t}",
    "Impression: {t}.",
    "{t}; monitor and recheck in 3 months",
)


@dataclass(frozen=True, slots=True)
class Example:
    query: str
    code: str
    source: str  # index | inclusion | title | unspecified, with +abbrev/+typo/+context when varied
    base: str = ""  # the reference text the query was made from


@dataclass(slots=True)
class Group:
    """One positive and its negatives: the unit of the listwise loss."""

    query: str
    positive: str  # code
    negatives: list[str] = field(default_factory=list)
    source: str = ""
    base: str = ""


def family(cs: CodeSet, code: str) -> str:
    e = cs.get(code)
    return e.parent if e is not None and e.generated and e.parent else code


def is_heldout(cs: CodeSet, code: str, seed: int, share: int = 5) -> bool:
    """About ``share`` percent of code families, chosen by a hash (stable across runs and machines)."""
    return zlib.crc32(f"{seed}:{family(cs, code)}".encode()) % 100 < share


def index_phrase(path: str) -> str:
    """An index term path as running text: adjectives before the main term, qualifiers after."""
    parts = [p.strip() for p in path.split(",") if p.strip()]
    if not parts:
        return path
    main, mods = parts[0], parts[1:]
    # "Diabetes, diabetic" and "Hypertension, hypertensive": the second is a form of the first
    if mods and mods[0][:5].lower() == main[:5].lower() and " " not in mods[0]:
        mods = mods[1:]
    # the first modifier, when it is a word or two and not a qualifier, is an adjective: it goes first
    before, after = [], list(mods)
    if after and not _CONNECTOR.match(after[0]) and len(after[0].split()) <= 2:
        before = [after.pop(0)]
    text = " ".join([*before, main, *after])
    return re.sub(r"\s+", " ", text.replace(" - ", " ")).strip()


def _abbreviation_table() -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for line in ABBREVIATIONS_TSV.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        abbr, expansion, *_ = (line.split("\t") + ["any"])
        if len(expansion) > 3:
            out.append((abbr, re.compile(r"\b" + re.escape(expansion) + r"\b", re.I)))
    return out


def abbreviate(text: str, table: list[tuple[str, re.Pattern[str]]], rng: random.Random) -> str | None:
    """``text`` with one expansion from the abbreviation table put back as its abbreviation."""
    hits = [(abbr, rx) for abbr, rx in table if rx.search(text)]
    if not hits:
        return None
    abbr, rx = rng.choice(hits)
    return rx.sub(abbr, text, count=1)


def typo(text: str, rng: random.Random) -> str | None:
    """One plausible slip in one longer word: a dropped, doubled, swapped or replaced letter."""
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not idx:
        return None
    i = rng.choice(idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    op = rng.randrange(4)
    if op == 0:
        w = w[:j] + w[j + 1 :]
    elif op == 1:
        w = w[:j] + w[j] + w[j:]
    elif op == 2:
        w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
    else:
        w = w[:j] + rng.choice("aeiounrst") + w[j + 1 :]
    words[i] = w
    return " ".join(words)


def _strip_unspecified(title: str) -> str | None:
    # ", unspecified organism" says nothing the note must say: drop the clause; elsewhere the word
    t = re.sub(r",\s*unspecified\b[^,]*", "", title, flags=re.I)
    t = re.sub(r"\bunspecified\s+", " ", t, flags=re.I)
    t = re.sub(r"\s+", " ", t).strip(" ,")
    return t if t and t.lower() != title.lower() else None


class PairBuilder:
    """Builds examples and negative groups from one code set, deterministically for a seed.

    Parameters
    ----------
    cs : CodeSet
    seed : int
    bm25 : BM25Index, optional
        The retriever's sparse index, for hard negatives; without it negatives are siblings and random.
    """

    def __init__(self, cs: CodeSet, seed: int = 0, bm25=None):
        self.cs = cs
        self.seed = seed
        self.bm25 = bm25
        # one code per 7th-character family, or random negatives would be mostly injuries
        self.billable = sorted(e.code for e in cs.billable_codes() if not e.generated or e.code.endswith("A"))
        # text → every code it names: such a text is a positive for each, a negative for none
        self._text_codes: dict[str, set[str]] = {}
        self._abbr = _abbreviation_table()
        self._blocks: dict[str, list[str]] | None = None

    # -- positives -------------------------------------------------------------------------
    def base_examples(self) -> Iterator[Example]:
        """(text, code) pairs straight from the reference data, before variants."""
        cs = self.cs
        for e in cs.billable_codes():
            if e.generated and not e.code.endswith("A"):
                continue  # one title per 7th-character family: the ranker reads the family's title
            title = doc_text(cs, e.code)
            yield Example(title, e.code, "title")
            plain = _strip_unspecified(title)
            if plain:
                yield Example(plain, e.code, "unspecified")
            for term in e.notes.get("inclusion_terms", []):
                yield Example(_PAREN.sub("", term).strip() or term, e.code, "inclusion")
        for entry in cs.index:
            node = cs.codes.get(entry.code)
            if node is None:
                continue
            targets = [entry.code] if node.billable else _default_descendants(cs, entry.code, limit=1)
            if len(targets) != 1:
                continue
            yield Example(index_phrase(entry.path), targets[0], "index")

    def examples(self, split: str = "train", limit: int | None = None) -> list[Example]:
        """Base examples of one split (``train`` or ``val``) plus their variants, deduplicated.

        ``limit`` stops early, once a few times that many are collected (quick runs and tests)."""
        rng = random.Random(f"{self.seed}:{split}")
        seen: dict[tuple[str, str], Example] = {}
        for ex in self.base_examples():
            if limit is not None and len(seen) >= 4 * limit:
                break
            if is_heldout(self.cs, ex.code, self.seed) != (split == "val"):
                continue
            # external causes (V00-Y99) are a fifth of the index but optional on a claim: one in five
            if ex.code[0] in "VWXY" and rng.random() > EXTERNAL_CAUSE_SHARE:
                continue
            ex = Example(ex.query, ex.code, ex.source, ex.query)
            self._text_codes.setdefault(ex.base.lower(), set()).add(family(self.cs, ex.code))
            for v in self._variants(ex, rng):
                seen.setdefault((v.query.lower(), v.code), v)
        out = list(seen.values())
        rng.shuffle(out)
        return out

    def _variants(self, ex: Example, rng: random.Random) -> list[Example]:
        out = [ex] if ex.source != "title" or rng.random() < 0.3 else []
        text = ex.query
        a = abbreviate(text, self._abbr, rng) if rng.random() < 0.5 else None
        if a:
            out.append(Example(a, ex.code, ex.source + "+abbrev", ex.base))
        if rng.random() < 0.25:
            t = typo(text, rng)
            if t:
                out.append(Example(t, ex.code, ex.source + "+typo", ex.base))
        if rng.random() < 0.35:
            t = rng.choice(CONTEXTS).format(t=text[0].upper() + text[1:] if rng.random() < 0.5 else text.lower())
            out.append(Example(t, ex.code, ex.source + "+context", ex.base))
        return out

    # -- negatives -------------------------------------------------------------------------
    def groups(self, examples: list[Example], n_neg: int = 7, hard: int = 3, siblings: int = 3) -> list[Group]:
        """One group per example: ``siblings`` category siblings, ``hard`` BM25 negatives, the rest random."""
        rng = random.Random(f"{self.seed}:neg:{len(examples)}")
        hits = self._bm25_codes([ex.query for ex in examples]) if self.bm25 is not None and hard else None
        out = []
        for i, ex in enumerate(examples):
            bad = self._text_codes.get((ex.base or ex.query).lower(), set()) | {family(self.cs, ex.code)}
            pos_doc = doc_text(self.cs, ex.code)
            chosen: list[str] = []
            taken = set()

            def take(code: str, chosen=chosen, taken=taken, bad=bad, pos_doc=pos_doc) -> bool:
                f = family(self.cs, code)
                if f in bad or f in taken or doc_text(self.cs, code) == pos_doc:
                    return False
                taken.add(f)
                chosen.append(code)
                return True

            sib = self._siblings(ex.code)
            rng.shuffle(sib)
            for c in sib:
                if len(chosen) >= siblings:
                    break
                take(c)
            if hits is not None:
                n = 0
                for c in hits[i]:
                    if n >= hard or len(chosen) >= n_neg:
                        break
                    n += take(c)
            tries = 0
            while len(chosen) < n_neg and tries < 50:
                tries += 1
                take(rng.choice(self.billable))
            out.append(Group(ex.query, ex.code, chosen, ex.source, ex.base))
        return out

    def _siblings(self, code: str) -> list[str]:
        cs = self.cs
        fam = family(cs, code)
        parent = cs.codes[fam].parent if fam in cs.codes else None
        near = [c for c in cs.billable_descendants(parent)] if parent else []
        cat = cs.billable_descendants(code[:3]) if code[:3] in cs.codes else []
        # the nearest relatives first (same parent), then the rest of the category
        pool = [c for c in near if c != code] or [c for c in cat if c != code]
        if len(pool) < 4:
            pool += [c for c in cat if c != code and c not in pool]
        if len(pool) < 4:
            # a category of one code (I10): its neighbours in the block (I11-I1A) are the contrast
            pool += [c for c in self._block(code) if c != code and c not in pool and c[:3] != code[:3]]
        # one 7th-character representative per family is enough
        return [c for c in pool if not (cs.codes[c].generated and not c.endswith("A"))]

    def _block(self, code: str) -> list[str]:
        if self._blocks is None:
            self._blocks = {}
            for c in self.billable:
                self._blocks.setdefault(self.cs.codes[c].block, []).append(c)
        return self._blocks.get(self.cs.codes[code].block, [])

    def _bm25_codes(self, queries: list[str], k: int = 40) -> list[list[str]]:
        out = []
        for at in range(0, len(queries), 512):
            for hits in self.bm25.search(queries[at : at + 512], k=k):
                codes, seen = [], set()
                for d, _ in hits:
                    c = self.bm25.docs[d].code
                    if c not in seen:
                        seen.add(c)
                        codes.append(c)
                out.append(codes)
        return out
