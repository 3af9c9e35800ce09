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


def _one(text: str, concept: str):
    (f,) = assess(text, [locate(concept, text)])
    return f


def test_header_colon_no_negates_what_follows():
    # medspaCy's default ": no" rule looks backward, so "Extremities: No clubbing" lost its negation
    assert _one("Extremities: No clubbing, cyanosis or edema.", "cyanosis").negated
    assert _one("SKIN: No rashes.", "rashes").negated
    assert _one("Musculoskeletal - No arthralgias or myalgias.", "myalgias").negated
    # ...while a trailing "no" still negates the finding before it
    assert _one("Fever: no. Cough: yes.", "Fever").negated
    assert not _one("Fever: no. Cough: yes.", "Cough").negated


def test_an_age_or_a_recent_duration_is_not_history():
    assert not _one("A 45-year-old woman with lower back pain.", "lower back pain").historical
    assert not _one("She has a two-day history of fever and diarrhea.", "diarrhea").historical
    assert _one("She has a history of diarrhea.", "diarrhea").historical
    assert _one("Old MI on ECG.", "MI").historical


def test_the_present_illness_ends_a_history_cue():
    text = "58 yo F with a history of sickle cell disease who presents with acute chest pain."
    assert _one(text, "sickle cell disease").historical
    assert not _one(text, "acute chest pain").historical
    # a history terminator does not end a negation
    assert _one("Denies any recent nausea or vomiting.", "vomiting").negated


def test_no_history_of_is_negated_and_historical():
    f = _one("No history of coronary artery disease.", "coronary artery disease")
    assert f.negated and f.historical


def test_discharge_instructions_and_study_purposes_are_hypothetical():
    assert _one("Call also for any weight gain, rashes, nausea, or fever.", "fever").hypothetical
    assert _one("Return to the ED if chest pain recurs.", "chest pain").hypothetical
    assert _one("CT chest to evaluate for pulmonary embolism.", "pulmonary embolism").hypothetical
    # "signs of" is not a hypothetical cue: "no signs of tamponade" is simply negated
    f = _one("No echocardiographic signs of tamponade are seen.", "tamponade")
    assert f.negated and not f.hypothetical
    # a workup in progress is not hypothetical
    assert not _one("Admitted for further evaluation and management of his infection.", "infection").hypothetical


def test_technique_words_are_not_negation():
    assert not _one("MR lumbar spine without contrast for lower back pain.", "lower back pain").negated


def test_locate_prefers_the_capitalised_target():
    sentence = "Schizophrenia: The patient has a long history of SCHIZOPHRENIA."
    assert locate("schizophrenia", sentence) == (sentence.index("SCHIZ"), sentence.index("SCHIZ") + 13)


def test_a_family_history_cue_makes_the_relatives_condition_history():
    f = _one("FH is positive for a sister with colon polyps at age 60.", "colon polyps")
    assert f.family and f.historical
    f = _one("The indication is family history of colon cancer.", "colon cancer")
    assert f.family and f.historical
    # a relative named without a family-history cue is an experiencer, not a time
    f = _one("Her son noted that she was jaundiced.", "jaundiced")
    assert not f.historical
    # the patient's own condition status is unchanged
    assert f.status() is not Assertion.historical


def test_a_substance_habit_is_history_but_a_use_disorder_is_not():
    assert _one("Denies alcohol or drugs.", "drugs").historical
    assert _one("Denies alcohol or drugs.", "alcohol").historical
    assert _one("Alcohol: two glasses of wine per day.", "Alcohol").historical
    assert not _one("Alcohol use disorder, mild.", "Alcohol use disorder").historical
    assert not _one("Alcohol dependence with withdrawal.", "Alcohol dependence with withdrawal").historical


def test_prior_reaches_past_a_procedure_to_its_condition():
    assert _one("Prior ORIF of a left femoral neck fracture.", "left femoral neck fracture").historical
    # "prior to" is a time of day, not a history cue
    assert not _one("No chest pain prior to the fall; now with hip pain.", "hip pain").historical


def test_a_recent_time_ends_a_history_cue():
    text = "On exam, her hyponatremia from last week appears to have resolved."
    assert not _one(text, "hyponatremia").historical
    assert _one("Her hyponatremia has resolved.", "hyponatremia").historical


def test_sentence_starts_bound_the_cue_scopes():
    # a numbered item inside one line is a sentence of its own: "None" does not negate the next item
    text = "COMPLICATIONS: None POSTOPERATIVE DIAGNOSIS: 1) Normal esophagus 2) Duodenitis in the bulb"
    assert not _one(text, "Duodenitis").negated
    # a line break ends a negation; a genus initial does not end a sentence
    assert not _one("No fever.\nCough present.", "Cough").negated
    assert _one("Denies history of H. pylori infection.", "H. pylori infection").negated
