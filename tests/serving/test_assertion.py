from medcore.model import Assertion
from serving.pipeline.assertion import assess, locate


def test_negation_family_history_and_present():
    text = "Patient denies chest pain. Mother had breast cancer. He has a history of stroke. Cough is present."
    spans = [locate(c, text) for c in ("chest pain", "breast cancer", "stroke", "Cough")]
    flags = assess(text, spans)
    assert flags[0].status() is Assertion.negated
    assert flags[1].status() is Assertion.family
    assert flags[2].status() is Assertion.historical
    assert flags[3].status() is Assertion.present


def test_uncertainty():
    text = "Possible pneumonia."
    (f,) = assess(text, [locate("pneumonia", text)])
    assert f.status() is Assertion.uncertain


def test_locate_falls_back_to_words():
    assert locate("rib fracture", "old RIB FRACTURE noted") == (4, 16)
    assert locate("fractures", "a fracture of the rib") is not None
    assert locate("xyz", "nothing here") is None
