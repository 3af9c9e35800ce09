"""Candidate search over the full billable ICD-10-CM set: BM25 (bm25s) + dense (MiniLM in FAISS)."""

from serving.retriever.hybrid import Candidate, HybridRetriever

__all__ = ["Candidate", "HybridRetriever"]
