"""The fused ranker's scoring head: a feature matrix in, one score per row out.

numpy only, on purpose: the Triton backend serves this same function from its own virtualenv
(``.venv-triton``), which has pytriton and numpy but none of medcode's other dependencies. The
in-process backend calls it directly, so both backends score with the same arithmetic.
"""

from __future__ import annotations

import numpy as np

W_QUERY, W_DOC, W_DENSE, W_BM25 = 0.45, 0.30, 0.15, 0.10

#: columns of the feature matrix, in order
FEATURES: tuple[str, ...] = ("query_coverage", "doc_coverage", "dense", "bm25_rel", "penalty")


def fused_head(features: np.ndarray) -> np.ndarray:
    """Scores in [0, 1] for a ``(n, len(FEATURES))`` float64 matrix.

    The sum is written term by term in the order the original scalar formula used, so float64
    results are bit-identical to it.
    """
    x = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURES))
    s = W_QUERY * x[:, 0] + W_DOC * x[:, 1] + W_DENSE * np.maximum(x[:, 2], 0.0) + W_BM25 * x[:, 3] - x[:, 4]
    return np.clip(s, 0.0, 1.0)
