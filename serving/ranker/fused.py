"""A transparent fused ranker: lexical coverage both ways, dense similarity and BM25 agreement.

This is the first ranker: no training, every feature explainable. It scores how much of the mention
the code's best-matching text covers (the code must account for what the note says) and how much of
that text the mention covers (a code must not add detail the note does not support: "with
complications", "in remission"). Words such as "unspecified" or "other" are neutral, so a plain
mention lands on the unspecified code; "other" titles carry a small penalty because they are for
specified conditions not classified elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from medcore.refdata.icd10cm import CodeSet
from serving.retriever.hybrid import Candidate
from serving.retriever.tokens import content_tokens, tokenize

W_QUERY, W_DOC, W_DENSE, W_BM25 = 0.45, 0.30, 0.15, 0.10


@dataclass(slots=True)
class Ranked:
    code: str
    description: str
    score: float
    query_coverage: float
    doc_coverage: float
    matched_text: str


class FusedRanker:
    def __init__(self, cs: CodeSet):
        self.cs = cs

    def score(self, query: str, cands: list[Candidate]) -> list[Ranked]:
        q = content_tokens(query)
        q_words = set(tokenize(query))
        out: list[Ranked] = []
        for c in cands:
            entry = self.cs.get(c.code)
            if entry is None or not entry.billable:
                continue
            best_q = best_d = 0.0
            best_text = c.matched_text or entry.description
            for text in {c.matched_text, entry.description} - {""}:
                d = content_tokens(text)
                if not q or not d:
                    continue
                inter = len(q & d)
                qc, dc = inter / len(q), inter / len(d)
                if qc + dc > best_q + best_d:
                    best_q, best_d, best_text = qc, dc, text
            penalty = 0.05 if "other" in tokenize(entry.description) and not ({"other", "specified"} & q_words) else 0.0
            s = W_QUERY * best_q + W_DOC * best_d + W_DENSE * max(c.dense, 0.0) + W_BM25 * c.bm25_rel - penalty
            out.append(Ranked(c.code, entry.description, max(0.0, min(1.0, s)), best_q, best_d, best_text))
        out.sort(key=lambda r: (-r.score, r.code))
        return out
