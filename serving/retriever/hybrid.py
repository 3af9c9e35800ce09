"""Hybrid candidate search: BM25 and dense rankings fused by reciprocal rank fusion."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from medcore.refdata.icd10cm import CodeSet
from serving.retriever.bm25 import BM25Index, best_per_code
from serving.retriever.corpus import build_corpus
from serving.retriever.tokens import content_tokens, required_tokens

log = logging.getLogger(__name__)
RRF_K = 60
# bump a version when what goes into that index changes; the other index is kept
BM25_VERSION = "v10"
DENSE_VERSION = "v1"


@dataclass(slots=True)
class Candidate:
    code: str
    rrf: float
    bm25: float = 0.0  # best BM25 score of any of the code's documents
    bm25_rel: float = 0.0  # relative to the query's best BM25 score
    dense: float = 0.0  # cosine similarity of the query with the code title
    matched_text: str = ""  # the document that matched best (title, inclusion term or index path)
    matched_kind: str = ""


class HybridRetriever:
    """Candidates for many mention queries at once.

    Parameters
    ----------
    bm25 : BM25Index
    dense : DenseIndex or None
        Dense retrieval is skipped when None (``MEDCODE_DENSE_ENABLED=false``).
    """

    def __init__(self, bm25: BM25Index, dense=None):
        self.bm25 = bm25
        self.dense = dense
        # Alphabetic Index main terms by their words: a coder starts from the main term
        self._main_terms: dict[str, list[tuple[frozenset[str], int]]] = {}
        df: Counter[str] = Counter()
        for d in bm25.docs:
            df.update(set(content_tokens(d.text)))
        n = len(bm25.docs) or 1
        self.idf = {t: math.log(1 + n / c) for t, c in df.items()}
        for i, d in enumerate(bm25.docs):
            if d.kind == "index_main":
                req = frozenset(required_tokens(d.text, main_term_only=True))
                for t in req:
                    self._main_terms.setdefault(t, []).append((req, i))

    def main_term_docs(self, query: str) -> list[int]:
        """Index main-term documents all of whose words the query contains."""
        q = content_tokens(query)
        seen: set[int] = set()
        for t in q:
            for req, i in self._main_terms.get(t, ()):
                if i not in seen and req <= q:
                    seen.add(i)
        return sorted(seen)

    @classmethod
    def load_or_build(cls, cs: CodeSet, index_dir: Path, dense: bool = True) -> HybridRetriever:
        root = index_dir / cs.release
        bm25_dir = root / f"bm25-{BM25_VERSION}"
        if (bm25_dir / "docs.jsonl").exists():
            bm25 = BM25Index.load(bm25_dir)
        else:
            t = time.perf_counter()
            bm25 = BM25Index.build(build_corpus(cs))
            bm25.save(bm25_dir)
            log.info("built BM25 index", extra={"docs": len(bm25.docs), "seconds": round(time.perf_counter() - t, 1)})
        dense_index = None
        if dense:
            from serving.retriever.dense import DenseIndex

            dense_dir = root / f"dense-{DENSE_VERSION}"
            if (dense_dir / "dense.faiss").exists():
                dense_index = DenseIndex.load(dense_dir)
            else:
                t = time.perf_counter()
                entries = list(cs.billable_codes())
                dense_index = DenseIndex.build([e.code for e in entries], [e.description for e in entries])
                dense_index.save(dense_dir)
                log.info("built dense index", extra={"codes": len(entries), "seconds": round(time.perf_counter() - t, 1)})
        return cls(bm25, dense_index)

    def search(self, queries: list[str], k: int = 50) -> list[list[Candidate]]:
        sparse = self.bm25.search(queries, k=max(200, k * 4))
        vecs = None
        if self.dense is not None and queries:
            from serving.retriever.dense import embed

            vecs = embed(queries)
            dense = self.dense.search_vectors(vecs, k=k)
        else:
            dense = [[] for _ in queries]
        out: list[list[Candidate]] = []
        for qi, (query, hits, dhits) in enumerate(zip(queries, sparse, dense, strict=True)):
            cands: dict[str, Candidate] = {}
            per_code = best_per_code(self.bm25.docs, hits)
            top = max((s for s, _ in per_code.values()), default=0.0) or 1.0
            for rank, (code, (score, d)) in enumerate(sorted(per_code.items(), key=lambda kv: -kv[1][0])):
                doc = self.bm25.docs[d]
                cands[code] = Candidate(code, 1.0 / (RRF_K + rank + 1), score, score / top, 0.0, doc.text, doc.kind)
            # a third ranking: the Alphabetic Index main terms the mention names
            for rank, d in enumerate(self.main_term_docs(query)):
                doc = self.bm25.docs[d]
                c = cands.get(doc.code)
                if c is None:
                    c = cands[doc.code] = Candidate(doc.code, 0.0, 0.0, 0.0, 0.0, doc.text, doc.kind)
                c.rrf += 1.0 / (RRF_K + rank + 1)
                c.matched_text, c.matched_kind = doc.text, doc.kind
            for rank, (code, sim) in enumerate(dhits):
                c = cands.get(code)
                if c is None:
                    c = cands[code] = Candidate(code, 0.0)
                c.rrf += 1.0 / (RRF_K + rank + 1)
                c.dense = sim
            top = sorted(cands.values(), key=lambda c: -c.rrf)[:k]
            if vecs is not None:
                # every candidate gets its semantic similarity, not only those the dense search found
                for c, sim in zip(top, self.dense.similarity(vecs[qi], [c.code for c in top]), strict=True):
                    c.dense = float(sim)
            out.append(top)
        return out
