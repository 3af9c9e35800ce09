"""The cross-encoder: a tiny training run, the artifact (base + delta), and the loader's refusals.

The tiny run trains one layer for a few steps: it checks the mechanics, not the quality (the shipped
artifact's behaviour is checked in test_shipped.py).
"""

from __future__ import annotations

import json
import lzma

import numpy as np
import pytest
import torch

from medcore.refdata.releases import latest_codeset
from serving.ranker.cross import (
    MANIFEST_FILE,
    WEIGHTS_FILE,
    ArtifactError,
    CrossScorer,
    build_model,
    load_model,
    load_scorer,
    tokenizer,
)
from serving.ranker.train import TrainConfig, train
from serving.ranker.train.trainer import fit_calibration

PAIRS = [
    ("type 2 diabetes with chronic kidney disease", "Type 2 diabetes mellitus with diabetic chronic kidney disease"),
    ("type 2 diabetes with chronic kidney disease", "Type 2 diabetes mellitus without complications"),
    ("essential hypertension", "Essential (primary) hypertension"),
]


@pytest.fixture(scope="module")
def cs():
    return latest_codeset()


@pytest.fixture(scope="module")
def tiny(cs, tmp_path_factory):
    out = tmp_path_factory.mktemp("cross") / "tiny"
    cfg = TrainConfig(out=out, n_layers=1, steps=4, groups_per_step=4, limit_examples=64, val_queries=12,
                      max_minutes=3, dense=False, warmup=1, lr=5e-4)
    return train(cs, cfg)


def test_tiny_run_writes_an_artifact_with_its_recipe(tiny):
    m = json.loads((tiny.out / MANIFEST_FILE).read_text())
    assert m["recipe_version"] == "cross-v1" and m["seed"] == 13 and m["n_layers"] == 1
    assert m["steps"] == tiny.steps >= 1
    assert len(m["base_model_sha256"]) == 64
    assert m["data"]["training_groups_used"] > 0 and m["data"]["heldout_queries"] > 0
    assert {"group_top1", "heldout_queries"} <= set(m["validation"])
    assert set(m["calibration"]) == {"a", "b", "c"}
    assert m["seconds"]["total"] > 0
    # the delta holds only what trained: no word embeddings
    state = torch.load(__import__("io").BytesIO(lzma.decompress((tiny.out / WEIGHTS_FILE).read_bytes())),
                       weights_only=True)
    assert not any("word_embeddings" in k for k in state)
    assert any(k.startswith("head.") for k in state) and all(v.dtype == torch.float16 for v in state.values())


def test_training_changes_the_scores(tiny):
    tok = tokenizer()
    trained = CrossScorer(tiny.model.eval(), tok).logits(PAIRS)
    fresh = CrossScorer(build_model(1, seed=13).eval(), tok).logits(PAIRS)
    assert not np.allclose(trained, fresh, atol=1e-3)


def test_base_plus_delta_reproduces_the_trained_model(tiny):
    tok = tokenizer()
    trained = CrossScorer(tiny.model.eval(), tok).logits(PAIRS)
    model, manifest = load_model(tiny.out)
    loaded = CrossScorer(model, tok).logits(PAIRS)
    np.testing.assert_allclose(loaded, trained, atol=0.05)  # fp16 storage
    quantized = load_scorer(tiny.out, quantize=True, threads=None).logits(PAIRS)
    np.testing.assert_allclose(quantized, trained, atol=0.5)
    assert manifest["n_layers"] == 1


def test_loader_refuses_missing_damaged_or_foreign_artifacts(tiny, tmp_path):
    with pytest.raises(ArtifactError):
        load_model(tmp_path / "nothing-here")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / MANIFEST_FILE).write_text((tiny.out / MANIFEST_FILE).read_text())
    (bad / WEIGHTS_FILE).write_bytes(b"not xz")
    with pytest.raises(ArtifactError, match="checksum"):
        load_model(bad)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    m = json.loads((tiny.out / MANIFEST_FILE).read_text())
    m["base_model_sha256"] = "0" * 64
    (foreign / MANIFEST_FILE).write_text(json.dumps(m))
    (foreign / WEIGHTS_FILE).write_bytes((tiny.out / WEIGHTS_FILE).read_bytes())
    with pytest.raises(ArtifactError, match="base weights"):
        load_model(foreign)


def test_calibration_is_a_probability_that_tracks_the_label():
    rng = np.random.default_rng(0)
    logit = rng.normal(size=2000)
    fused = rng.uniform(size=2000)
    label = (rng.uniform(size=2000) < 1 / (1 + np.exp(-(2 * logit + 3 * fused - 2)))).astype(float)
    cal = fit_calibration(logit, fused, label)
    assert 1.5 < cal.a < 2.5 and 1.8 < cal.b < 4 and -3 < cal.c < -1
    # separable labels: the penalty keeps the fit finite
    sep = fit_calibration(logit, fused, (logit > 0).astype(float))
    assert np.isfinite([sep.a, sep.b, sep.c]).all() and sep.a > 0 and abs(sep.a) < 1e3
    p = cal(logit, fused)
    assert p.min() >= 0 and p.max() <= 1
