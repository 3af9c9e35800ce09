"""Specificity: the ranker's opposite-axis penalty, 7th-character families reaching their laterality
children in the corpus, 's/p <procedure>' and qualifier-only mentions, 3-letter final diagnoses."""

from datetime import date

import pytest

from medcore.model import Encounter, Note, Patient, Setting
from medcore.refdata.releases import codeset_for
from serving.pipeline.coder import Coder
from serving.pipeline.mentions import Mention, conjuncts, extract
from serving.ranker.fused import FusedRanker, contradictions
from serving.retriever.corpus import _axis_variants
from serving.retriever.tokens import tokenize

SINGLE_MODERATE = "Major depressive disorder, single episode, moderate"


@pytest.fixture(scope="module")
def cs():
    return codeset_for(date(2026, 6, 1))


@pytest.fixture(scope="module")
def coder():
    return Coder(dense=False)


# -- ranker: a title stating the opposite axis --------------------------------------------------------

def test_contradictions_count_an_opposite_axis():
    title = set(tokenize(SINGLE_MODERATE))
    assert contradictions({"recurrent", "major", "depressive"}, title) == 1
    # the query says both sides, or neither: nothing is contradicted
    assert contradictions({"recurrent", "single", "major", "depressive"}, title) == 0
    assert contradictions({"major", "depressive"}, title) == 0
    # two axes at once
    assert contradictions({"recurrent", "severe"}, title) == 2
    assert contradictions({"left"}, set(tokenize("Displaced bimalleolar fracture of right lower leg"))) == 1


def test_ranker_prefers_the_recurrent_episode_title(coder, cs):
    query = "Major depressive disorder, recurrent episode, moderate"
    retriever = coder.retriever(cs)
    (cands,) = retriever.search([query], k=50)
    assert {"F33.1", "F32.1"} <= {c.code for c in cands}
    ranked = [r.code for r in FusedRanker(cs, dense_on=retriever.dense is not None, idf=retriever.idf).score(query, cands)]
    assert ranked[0] == "F33.1"
    assert ranked.index("F33.1") < ranked.index("F32.1")


# -- corpus: 7th-character families reach their laterality children ----------------------------------

def test_an_index_path_to_a_seventh_character_family_reaches_its_side(cs):
    pairs = _axis_variants(cs, "S82.84", "Fracture, ankle, bimalleolar")
    by_code = dict(pairs)
    assert "S82.842A" in by_code and "left" in by_code["S82.842A"].split("(")[-1]
    assert "S82.841A" in by_code and "right" in by_code["S82.841A"]
    # one code per 7th-character family (the initial encounter), with the parent's words, not the episode's
    assert all(code.endswith("A") for code, _ in pairs)
    assert not any("encounter" in text for _, text in pairs)
    assert all(text.startswith("Fracture, ankle, bimalleolar") for _, text in pairs)


# -- mentions ------------------------------------------------------------------------------------------

def test_status_post_procedure_leaves_the_query():
    text = "Displaced bimalleolar fx L ankle s/p ORIF"
    q = Mention(0, len(text), text, "assessment", True, 0).query()
    assert "ORIF" not in q and "status post" not in q.lower() and "open reduction" not in q.lower()
    assert "bimalleolar" in q and "left" in q.lower() and "ankle" in q


def test_conjuncts_do_not_split_s_slash_p():
    text = "Displaced fx L ankle s/p ORIF"
    parts = [p.text for p in conjuncts(Mention(0, len(text), text, "assessment", True, 0))]
    assert not any(p == "s" or p.endswith(" s") or p.startswith("p ORIF") for p in parts)
    # a real slash between conditions is still split
    both = "HTN/HLD"
    assert [p.text for p in conjuncts(Mention(0, len(both), both, "assessment", True, 0))] == ["HTN", "HLD"]


def test_three_letter_final_diagnoses_are_read():
    note = "HPI: chest pain x2 days.\nFinal Dx: Atypical chest pain. HTN. HLD.\n"
    ms = extract(note)
    texts = [m.text for m in ms]
    assert "HTN" in texts and "HLD" in texts and "Atypical chest pain" in texts
    for m in ms:
        assert note[m.start:m.end] == m.text


# -- coder: qualifier-only and normal-finding words are not coded ---------------------------------------

def _office(coder, assessment):
    note = f"OFFICE VISIT\nHPI: 45 y/o F with palpitations, Holter reviewed.\nAssessment:\n{assessment}\n"
    enc = Encounter(encounter_id="P", setting=Setting.office, patient=Patient(age=45, sex="F"),
                    date_of_service=date(2026, 6, 1), notes=[Note(text=note)])
    return coder.code(enc).codes


def test_frequent_pvcs_code_i49_3_and_not_their_qualifiers(coder):
    codes = [c.code for c in _office(coder, "1. Frequent PVCs, symptomatic, benign-appearing, structurally normal heart.")]
    assert "I49.3" in codes
    assert "A52.10" not in codes and "I51.9" not in codes  # "symptomatic" neurosyphilis; "heart" disease
    assert codes == ["I49.3"]  # one diagnosis in the assessment, one code


def test_qualifier_and_normal_finding_parts_are_not_coded_on_their_own(coder):
    # no single code says the whole item, so the coder falls back to its comma parts: the parts that
    # only qualify ("symptomatic", "benign-appearing") or state a normal finding are not diagnoses
    codes = _office(coder, "1. Frequent ectopy, symptomatic, benign-appearing, structurally normal heart.")
    evidence = {ev.text.lower() for c in codes for ev in c.evidence}
    assert not evidence & {"symptomatic", "benign-appearing", "structurally normal heart"}, \
        [(c.code, [ev.text for ev in c.evidence]) for c in codes]
