"""The shipped cross-encoder artifact: it loads from the package's base weights + its delta, and it
makes the distinctions it was trained for. These are behavioural checks that a bad artifact fails."""

from __future__ import annotations

from datetime import date

import pytest

from medcore.model import Encounter, Note, Patient, Setting
from medcore.refdata.releases import latest_codeset
from medcore.settings import Settings
from serving.pipeline.coder import Coder
from serving.ranker.cross import ARTIFACT_DIR, MANIFEST_FILE, WEIGHTS_FILE, doc_text, load_scorer


@pytest.fixture(scope="module")
def cs():
    return latest_codeset()


@pytest.fixture(scope="module")
def scorer():
    return load_scorer()


def prefers(scorer, cs, query: str, right: str, wrong: str) -> bool:
    a, b = scorer.logits([(query, doc_text(cs, right)), (query, doc_text(cs, wrong))])
    return a > b


def test_the_artifact_is_small_and_names_its_recipe(scorer):
    assert (ARTIFACT_DIR / WEIGHTS_FILE).stat().st_size < 25 * 2**20
    m = scorer.manifest
    assert (ARTIFACT_DIR / MANIFEST_FILE).is_file() and m["recipe_version"] == "cross-v1"
    assert m["validation"]["group_top1"] > 0.5


@pytest.mark.parametrize(("query", "right", "wrong"), [
    ("type 2 diabetes with diabetic chronic kidney disease", "E11.22", "E11.9"),
    ("type 2 diabetes mellitus without complications", "E11.9", "E11.22"),
    ("type 2 diabetes mellitus with diabetic polyneuropathy", "E11.42", "E11.40"),
    ("hypertensive heart disease with heart failure", "I11.0", "I10"),
    ("acute exacerbation of COPD", "J44.1", "J44.9"),
])
def test_it_needs_the_words_a_specific_code_names(scorer, cs, query, right, wrong):
    assert prefers(scorer, cs, query, right, wrong)


def test_the_coder_uses_it(cs):
    note = "A/P:\n1. Type 2 diabetes mellitus with diabetic chronic kidney disease - stable.\n"
    enc = Encounter(encounter_id="S1", setting=Setting.office, patient=Patient(age=64, sex="M"),
                    date_of_service=date(2026, 5, 4), notes=[Note(text=note)])
    res = Coder(Settings(ranker="cross"), dense=False).code(enc)
    assert res.ranker == "cross"
    assert res.codes and res.codes[0].code == "E11.22"
    assert all(0 <= c.confidence <= 1 for c in res.codes)
