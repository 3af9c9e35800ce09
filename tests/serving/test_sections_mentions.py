from serving.pipeline.abbreviations import expand
from serving.pipeline.mentions import extract
from serving.pipeline.sections import header_role, split_sections

NOTE = """CC: cough
HPI: 60 y/o M c/o SOB.
ROS: denies chest pain.
FHx: mother with breast cancer.
A/P:
1. COPD with acute exacerbation - start prednisone 40 mg.
2. Essential hypertension - controlled. Cont lisinopril.
"""


def test_header_roles():
    assert header_role("A/P") == "assessment"
    assert header_role("IMPRESSION") == "assessment"
    assert header_role("Exam R knee") == "exam"
    assert header_role("ROS") == "ros"
    assert header_role("Gen") is None


def test_sections_cover_note_with_roles():
    secs = split_sections(NOTE)
    roles = [s.role for s in secs]
    assert roles == ["chief_complaint", "hpi", "ros", "family_history", "assessment"]
    ap = secs[-1]
    assert ap.text(NOTE).strip().startswith("1. COPD")


def test_assessment_items_give_head_mentions_with_exact_offsets():
    ms = extract(NOTE)
    heads = [m for m in ms if m.primary]
    assert [m.text for m in heads] == ["COPD with acute exacerbation", "Essential hypertension"]
    for m in ms:
        assert NOTE[m.start : m.end] == m.text
    assert {m.role for m in ms} == {"assessment", "family_history"}
    fam = [m for m in ms if m.role == "family_history"]
    assert [m.text for m in fam] == ["mother with breast cancer"] and not fam[0].primary


def test_notes_without_assessment_fall_back_to_history():
    ms = extract("Chief complaint: ankle pain after a fall.\nExam: swelling.")
    assert ms and not any(m.primary for m in ms) and ms[0].role == "chief_complaint"


def test_abbreviation_expansion_in_context():
    assert expand("DM2 and HTN, s/p CABG") == "type 2 diabetes mellitus and hypertension, status post CABG"
    assert expand("PE negative", role="exam") == "PE negative"
    assert expand("PE", role="assessment") == "pulmonary embolism"


def test_an_inline_dx_label_opens_a_diagnosis_list():
    note = ("Client: 19 y/o M. Dx: Cannabis use disorder, mild; ADHD, combined presentation.\n"
            "S: reports more use.\nA: stable.\n")
    heads = [m.text for m in extract(note) if m.primary]
    assert "Cannabis use disorder, mild" in heads
    assert any(h.startswith("ADHD") for h in heads)
    # the line after the label is back in the note's own sections
    assert [s.role for s in split_sections(note)][-2:] == ["hpi", "assessment"]


def test_a_decimal_does_not_end_a_sentence():
    note = "Labs: Hgb 9.4 (9.9 prev) - anemia due to chemotherapy, asymptomatic. Cr 0.9."
    texts = [m.text for m in extract(note)]
    assert any("Hgb 9.4 (9.9 prev) - anemia due to chemotherapy" in t for t in texts)
    assert not any(t.startswith("4 (9") for t in texts)


def test_cancer_and_metastasis_are_worded_as_icd10cm_titles():
    assert expand("Prostate cancer") == "Prostate malignant neoplasm"
    assert expand("Ca of colon", role="assessment") == "malignant neoplasm of colon"
    assert expand("Brain metastases") == "secondary malignant neoplasm of Brain"
    assert expand("metastatic disease to the liver") == "secondary malignant neoplasm of liver"
    assert expand("Adenocarcinoma of RUL lung").startswith("malignant neoplasm of right upper lobe")
    # skin carcinomas and carcinoma in situ have titles of their own
    assert expand("squamous cell carcinoma of skin of nose") == "squamous cell carcinoma of skin of nose"
    assert expand("ductal carcinoma in situ of left breast") == "ductal carcinoma in situ of left breast"


def test_metastases_are_mentions_of_their_own():
    note = "Assessment:\n1. Adenocarcinoma of RUL lung, stage IVB, w/ mets to bone and brain.\n"
    heads = [(m.text, m.query()) for m in extract(note) if m.primary]
    assert heads[0][0] == "Adenocarcinoma of RUL lung, stage IVB"
    assert [q for _, q in heads[1:]] == ["secondary malignant neoplasm of bone", "secondary malignant neoplasm of brain"]
    # every part keeps exact offsets into the note
    assert all(note[m.start:m.end] == m.text for m in extract(note))


def test_a_hedged_reading_ends_the_head_of_a_finding():
    note = "IMPRESSION:\nPatchy right lower lobe airspace opacity, which may represent pneumonia.\n"
    heads = [m.text for m in extract(note) if m.primary]
    assert heads[0] == "Patchy right lower lobe airspace opacity"
    assert expand(heads[0]) == "Patchy right lower lobe lung infiltrate"


def test_a_typed_influenza_is_an_identified_virus():
    assert "identified influenza virus" in expand("Influenza A, rapid test positive")
    assert "identified influenza virus" in expand("flu B")
    assert expand("Influenza") == "Influenza"
    assert "identified" not in expand("Influenza A/B negative")
