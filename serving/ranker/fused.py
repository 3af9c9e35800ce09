"""A transparent fused ranker: lexical coverage both ways, dense similarity and BM25 agreement.

This is the first ranker: no training, every feature explainable. It scores how much of the mention
the code's best-matching text covers (the code must account for what the note says) and how much of
that text the mention covers (a code must not add detail the note does not support: "with
complications", "in remission"). Words such as "unspecified" or "other" are neutral, so a plain
mention lands on the unspecified code; "other" titles carry a small penalty because they are for
specified conditions not classified elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from medcore.refdata.icd10cm import CodeSet
from serving.ranker.head import FEATURES, W_BM25, W_DENSE, W_DOC, W_QUERY, fused_head
from serving.retriever.hybrid import Candidate
from serving.retriever.tokens import content_tokens, required_tokens, tokenize

__all__ = ["FEATURES", "W_BM25", "W_DENSE", "W_DOC", "W_QUERY", "Features", "FusedRanker", "Ranked", "main_term"]


_MAIN_TERM_END = re.compile(r",|;|\s(?:of|with|without|due to|secondary to|in|at|from|on|involving|after)\s", re.I)


def main_term(query: str) -> str | None:
    """The condition a phrase names, as the Alphabetic Index would enter it: the last content word
    before the first qualifier ("fracture" in "closed fracture of left distal radius")."""
    m = _MAIN_TERM_END.search(query)
    words = [w for w in content_tokens_ordered(query[: m.start()] if m else query) if not w.isdigit()]
    return words[-1] if words else None


def content_tokens_ordered(text: str) -> list[str]:
    keep = content_tokens(text)
    return [t for t in tokenize(text) if t in keep]


@lru_cache(maxsize=4)
def category_vocab(cs: CodeSet) -> dict[str, frozenset[str]]:
    """Every word used by the titles and index paths of each 3-character category: the axes along
    which that category can be specific. A mention's words outside them cannot be coded there."""
    vocab: dict[str, set[str]] = {}
    for e in cs.codes.values():
        vocab.setdefault(e.code[:3], set()).update(content_tokens(e.description))
        for t in e.index_terms:
            vocab[e.code[:3]].update(content_tokens(t))
    return {k: frozenset(v) for k, v in vocab.items()}


# axes on which a title can say the opposite of the mention: "recurrent episode" is not a single
# episode, "left" is not "right", "acute" is not "chronic" (unless the mention says both)
OPPOSITES: tuple[tuple[str, str], ...] = (
    ("single", "recurrent"), ("acute", "chronic"), ("left", "right"), ("bilateral", "left"), ("bilateral", "right"),
    ("benign", "malignant"), ("systolic", "diastolic"), ("open", "closed"), ("displaced", "nondisplaced"),
    ("primary", "secondary"), ("upper", "lower"), ("partial", "complete"), ("unilateral", "bilateral"),
    ("mild", "moderate"), ("mild", "severe"), ("moderate", "severe"), ("controlled", "uncontrolled"),
    ("initial", "subsequent"), ("initial", "sequela"), ("subsequent", "sequela"),
)
CONTRADICTION_PENALTY = 0.1
# an "unspecified" code loses a little when a sibling in its category accounts for a word of the
# mention it does not ("stable angina pectoris": I20.89 says "stable", I20.9 does not)
SPECIFICITY_PENALTY = 0.05
OTHER_PENALTY = 0.05
_SEX_WORDS = frozenset({"female", "male"})


def contradictions(query_words: set[str], title_words: set[str]) -> int:
    """How many axes the title states the opposite of what the mention states."""
    n = 0
    for a, b in OPPOSITES:
        for x, y in ((a, b), (b, a)):
            if x in query_words and y not in query_words and y in title_words and x not in title_words:
                n += 1
    return n


# "without" reaches to the next comma or preposition: "Laceration without foreign body of left forearm"
_WITHOUT_SCOPE = re.compile(r"\b(?:without|w/o)\b(.*?)(?=[,;]|\b(?:of|with|in|on|due\s+to)\b|$)", re.I)


# in a mention, "without" reaches to the next comma: "without osteoporosis with pathological fracture"
_WITHOUT_CLAUSE = re.compile(r"\b(?:without|w/o)\b([^,;]*)", re.I)


# both text parsers below run once per (query, candidate) pair: cached, the mention is read once per
# query and each title once per process
@lru_cache(maxsize=65536)
def _with_without(text: str, scope: re.Pattern[str] = _WITHOUT_SCOPE) -> tuple[frozenset[str], frozenset[str]]:
    """The content words a text states, and those it states the absence of ("..., without bleeding")
    and nowhere states present."""
    present = frozenset(content_tokens(scope.sub(" ", text)))
    absent = frozenset(w for m in scope.finditer(text) for w in content_tokens(m.group(1))) - present
    return present, absent


_NUMBERED = re.compile(r"\b(type|stage|class|grade)\s*(\d+)[a-z]?(?:\s+through\s+(?:stage\s+)?(\d+))?\b", re.I)


@lru_cache(maxsize=65536)
def _numbered(text: str) -> dict[str, frozenset[int]]:
    """Numbered axes a text states: "type 1", "stage 3b", "stage 1 through stage 4" (1-4), "class 2".
    Cached: callers only read it."""
    out: dict[str, set[int]] = {}
    for m in _NUMBERED.finditer(text):
        lo = int(m.group(2))
        hi = int(m.group(3)) if m.group(3) else lo
        out.setdefault(m.group(1).lower(), set()).update(range(lo, hi + 1))
    return {axis: frozenset(values) for axis, values in out.items()}


def number_conflicts(query: str, title: str) -> int:
    """Axes whose number the title states otherwise than the mention: "type 1 diabetes" against
    E11.22 "Type 2 diabetes mellitus ...", "CKD stage 3b" against I12.0 "... stage 5 ..."."""
    q, t = _numbered(query), _numbered(title)
    return sum(1 for axis, values in q.items() if axis in t and not values & t[axis])


def number_agreements(query: str, title: str) -> int:
    """Numbered axes the title states as the mention does ("type 1" in E10.22's title): the number
    names the condition's type, which a category without that axis (E13 "other specified") cannot say."""
    q, t = _numbered(query), _numbered(title)
    return sum(1 for axis, values in q.items() if axis in t and values & t[axis])


def negation_conflicts(query: str, title: str) -> int:
    """Axes on which the title says "with" what the mention says "without", or the reverse: "GERD
    without esophagitis" against K21.00 "... with esophagitis"; "lumbar radiculopathy" against M47.816
    "Spondylosis without myelopathy or radiculopathy"."""
    q_has, q_not = _with_without(query, _WITHOUT_CLAUSE)
    t_has, t_not = _with_without(title)
    return len((q_not & t_has) - t_not) + len((q_has & t_not) - t_has)


@dataclass(slots=True)
class Ranked:
    code: str
    description: str
    score: float
    query_coverage: float
    doc_coverage: float
    matched_text: str
    strict_coverage: float = 0.0  # share of all the mention's words the code's texts contain
    dense: float | None = None  # cosine with the code title; None when dense retrieval is off
    condition: str | None = None  # for a history code: the condition code it was derived from


@dataclass(slots=True)
class Features:
    """Candidates that survived the billable filter, with their feature matrix (one row each)."""

    rows: list[Ranked]
    matrix: np.ndarray


class FusedRanker:
    def __init__(self, cs: CodeSet, dense_on: bool = False, idf: dict[str, float] | None = None):
        self.cs = cs
        self.dense_on = dense_on
        # rare words weigh more: "Colles" says more about the fracture than "lower end"
        self.idf = idf or {}

    def _weight(self, words: set[str]) -> float:
        return sum(self.idf.get(w, 1.0) for w in words) or 1e-9

    def score(self, query: str, cands: list[Candidate]) -> list[Ranked]:
        return self.rank(self.features(query, cands), fused_head)

    def features(self, query: str, cands: list[Candidate]) -> Features:
        """The per-candidate features the scoring head combines (see :data:`FEATURES`)."""
        q = {t for t in content_tokens(query) if not t.isdigit() or len(t) > 1}
        q_words = set(tokenize(query))
        head = main_term(query)
        vocab = category_vocab(self.cs)
        rows: list[Ranked] = []
        matrix: list[list[float]] = []
        covered: list[set[str]] = []  # the mention's words (on its category's axes) each row's texts account for
        stated: list[set[str]] = []  # all the mention's words each row's texts account for
        for c in cands:
            entry = self.cs.get(c.code)
            if entry is None or not entry.billable or not q:
                continue
            # words the code's category has no axis for (laterality of pneumonia, say) are not held
            # against it; words it does have an axis for must be matched
            q_axis = q & vocab.get(c.code[:3], frozenset())
            best_q = best_d = strict = 0.0
            best_text = c.matched_text or entry.description
            has_head = False
            said: set[str] = set()
            all_said: set[str] = set()
            texts = [(entry.description, False)]
            if c.matched_text:
                texts.append((c.matched_text, c.matched_kind == "index_main"))
            for text, main_only in texts:
                allowed = content_tokens(text)
                # the patient's sex is a fact the coder checks (rules.demographics), not a word the note
                # must say: "left female breast" is fully stated by "left breast" for a woman
                required = (required_tokens(text, main_term_only=main_only) or allowed) - _SEX_WORDS or allowed
                # what an index path lists after ", with," is a second condition: "Nephritis, with,
                # lesion of, renal necrosis" is nephritis, not a "lesion" (the title may still name it)
                named = content_tokens(text.split(", with,")[0]) if text is c.matched_text else allowed
                has_head = has_head or (head is not None and head in named)
                if not q_axis:
                    continue
                said |= q_axis & allowed
                qc = self._weight(q_axis & allowed) / self._weight(q_axis)
                dc = len(q & required) / len(required)
                if qc + dc > best_q + best_d:
                    best_q, best_d, best_text = qc, dc, text
                strict = max(strict, self._weight(q & allowed) / self._weight(q))
                all_said |= q & allowed
            if head is not None and not has_head:
                best_q *= 0.5  # the code does not name the condition the mention names
                strict *= 0.5
            best_q *= 0.8 + 0.2 * (len(q_axis) / len(q))  # words the category cannot express: mildly weaker
            title = set(tokenize(entry.description))
            # an "other" title is for conditions specified elsewhere; it is not held against the code
            # when its own inclusion or index term states the mention's specifying word ("Stable angina")
            other = "other" in title and not ({"other", "specified"} & q_words)
            if other and not (said - title):
                penalty = OTHER_PENALTY
            else:
                penalty = 0.0
            penalty += CONTRADICTION_PENALTY * (contradictions(q_words, title) + min(1, negation_conflicts(query, entry.description))
                                                + number_conflicts(query, entry.description)
                                                - min(1, number_agreements(query, entry.description)))
            matrix.append([best_q, best_d, c.dense, c.bm25_rel, penalty])
            covered.append(said)
            stated.append(all_said)
            rows.append(Ranked(c.code, entry.description, 0.0, best_q, best_d, best_text, strict,
                               c.dense if self.dense_on else None))
        specific = [j for j, o in enumerate(rows) if "unspecified" not in o.description.lower()]
        for i, r in enumerate(rows):
            if "unspecified" not in r.description.lower():
                continue
            # a sibling says more of the mention, or any code says all this one does and more
            # ("facet arthropathy": M47.81- over "Arthropathy, unspecified")
            if any((rows[j].code[:3] == r.code[:3] and covered[j] - covered[i])
                   or (stated[j] > stated[i]) for j in specific):
                matrix[i][4] += SPECIFICITY_PENALTY
        arr = np.asarray(matrix, dtype=np.float64).reshape(-1, len(FEATURES))
        return Features(rows, arr)

    @staticmethod
    def rank(features: Features, head=fused_head, scores: np.ndarray | None = None) -> list[Ranked]:
        """Fill in the head's scores and sort, best first; ``scores`` when already computed elsewhere."""
        if scores is None:
            scores = head(features.matrix) if len(features.rows) else np.zeros(0)
        out = features.rows
        for r, s in zip(out, scores, strict=True):
            r.score = float(s)
        out.sort(key=lambda r: (-r.score, r.code))
        return out
