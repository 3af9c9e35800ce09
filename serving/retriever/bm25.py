"""Sparse retrieval with bm25s over the corpus documents."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np

from serving.retriever.corpus import Doc
from serving.retriever.tokens import tokenize


class BM25Index:
    def __init__(self, model: bm25s.BM25, docs: list[Doc]):
        self.model = model
        self.docs = docs
        self._vocab = set(model.vocab_dict)

    @classmethod
    def build(cls, docs: list[Doc]) -> BM25Index:
        model = bm25s.BM25()
        model.index([tokenize(d.text) or ["_"] for d in docs], show_progress=False)
        return cls(model, docs)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.model.save(str(path), show_progress=False)
        with (path / "docs.jsonl").open("w") as fh:
            for d in self.docs:
                fh.write(json.dumps([d.code, d.kind, d.text]) + "\n")

    @classmethod
    def load(cls, path: Path) -> BM25Index:
        model = bm25s.BM25.load(str(path), show_progress=False)
        docs = []
        with (path / "docs.jsonl").open() as fh:
            for line in fh:
                code, kind, text = json.loads(line)
                docs.append(Doc(code, text, kind))
        return cls(model, docs)

    def search(self, queries: list[str], k: int = 200) -> list[list[tuple[int, float]]]:
        """Top documents per query as (doc index, score); empty for a query with no known word."""
        toks = [[t for t in tokenize(q) if t in self._vocab] for q in queries]
        live = [i for i, t in enumerate(toks) if t]
        out: list[list[tuple[int, float]]] = [[] for _ in queries]
        if not live:
            return out
        k = min(k, len(self.docs))
        ids, scores = self.model.retrieve([toks[i] for i in live], k=k, show_progress=False, n_threads=1)
        for row, qi in enumerate(live):
            out[qi] = [(int(d), float(s)) for d, s in zip(ids[row], scores[row], strict=True) if s > 0]
        return out


def best_per_code(docs: list[Doc], hits: list[tuple[int, float]]) -> dict[str, tuple[float, int]]:
    """Collapse document hits to codes: the best score and the document that gave it."""
    best: dict[str, tuple[float, int]] = {}
    for d, s in hits:
        code = docs[d].code
        if code not in best or s > best[code][0]:
            best[code] = (s, d)
    return best


__all__ = ["BM25Index", "best_per_code", "np"]
