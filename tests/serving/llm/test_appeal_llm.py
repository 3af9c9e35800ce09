"""Appeal drafting: the template always, plus an LLM section only when the answer validates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from claims.denials import draft_appeal
from claims.remit import parse_835
from medcore.model import CodeSuggestion, Encounter, Evidence, Note
from serving.llm import AppealDrafter, EngineUnavailable, LlmAppealWriter, LocalLlm
from serving.llm.appeal import appeal_schema, note_sentences, parse_draft
from serving.llm.exceptions import InvalidOutput

# every test runs under the socket guard (conftest.network_guard)
pytestmark = pytest.mark.usefixtures("no_network")

ROOT = Path(__file__).resolve().parents[3]
X12 = ROOT / "tests/fixtures/x12/simulator_denials.835"
TEXT = ("HPI: 61 y/o F with polyuria and fatigue for two months.\nROS: denies chest pain.\n"
        "Assessment: Type 2 diabetes mellitus with A1c 8.1, poorly controlled on metformin. "
        "Insulin glargine started today after counselling.\nPlan: recheck A1c in three months.\n")
SPAN = "Type 2 diabetes mellitus with A1c 8.1"


def _encounter() -> Encounter:
    enc = Encounter.model_validate_json((ROOT / "tests/fixtures/encounters/office_visit_commercial.json").read_text())
    start = TEXT.index(SPAN)
    dx = CodeSuggestion(code="E11.9", rank=1, evidence=[Evidence(start=start, end=start + len(SPAN), text=SPAN)])
    return enc.model_copy(update={"notes": [Note(text=TEXT)], "diagnoses": [dx, *enc.diagnoses[1:]]})


def _denial(claim_id: str = "DEN-0001"):
    return {c.claim_id: c for r in parse_835(X12.read_text()) for c in r.claims}[claim_id]


def test_sentences_come_from_the_note_cited_ones_first_never_ros_or_plan():
    start = TEXT.index(SPAN)
    s = note_sentences([TEXT], [(0, start, start + len(SPAN))])
    assert s[0].startswith("Type 2 diabetes mellitus with A1c 8.1")
    assert all(x in TEXT for x in s)
    assert not any("chest pain" in x or "recheck" in x for x in s)


def test_draft_validation():
    sents = ["Type 2 diabetes mellitus with A1c 8.1.", "Insulin started today."]
    ok = parse_draft(json.dumps({"facts": [sents[1], sents[1]], "justification": "Needed."}), sents)
    assert ok.facts == [sents[1]] and ok.justification == "Needed."
    for bad in ('{"facts": ["invented fact"], "justification": "x"}', '{"facts": [], "justification": "  "}',
                '{"facts": []}', "nope"):
        with pytest.raises(InvalidOutput):
            parse_draft(bad, sents)
    schema = appeal_schema(sents)
    assert schema["properties"]["facts"]["items"]["enum"] == sents and schema["properties"]["facts"]["maxItems"] == 2


def test_writer_adds_a_section_when_the_draft_validates():
    enc = _encounter()

    def draft(payload):
        assert any("CO-167" in r for r in payload["reasons"]) and payload["codes"] == ["E11.9"]
        return {"status": "ok", "model": "m1", "prompt_version": "appeal-v1", "facts": [payload["sentences"][0]],
                "justification": "The visit managed uncontrolled diabetes."}

    writer = LlmAppealWriter(draft, [n.text for n in enc.notes], model="m1")
    letter = draft_appeal(_denial(), enc, writer=writer)
    template = draft_appeal(_denial(), enc)
    assert writer.info["status"] == "ok" and writer.info["prompt_version"] == "appeal-v1"
    assert "The visit managed uncontrolled diabetes." in letter and "draft by m1" in letter
    assert letter.index("Clinical justification") < letter.index("Sincerely,")
    # everything the template says is still there
    assert all(line in letter for line in template.splitlines())


@pytest.mark.parametrize("draft, status", [
    (None, "not_configured"),
    (lambda p: (_ for _ in ()).throw(TimeoutError()), "timeout"),
    (lambda p: (_ for _ in ()).throw(EngineUnavailable("down")), "error"),
    (lambda p: {"status": "invalid_output"}, "invalid_output"),
])
def test_template_letter_when_the_llm_fails(draft, status):
    enc = _encounter()
    writer = LlmAppealWriter(draft, [TEXT], model="m1")
    assert draft_appeal(_denial(), enc, writer=writer) == draft_appeal(_denial(), enc)
    assert writer.info["status"] == status


def test_bad_model_path_gives_the_template_with_the_reason(tmp_path):
    from serving.llm import LlmConfig

    with LocalLlm(LlmConfig(model_path=tmp_path / "nope")) as local:
        writer = local.appeal_writer([TEXT])
        letter = draft_appeal(_denial(), _encounter(), writer=writer)
    assert letter == draft_appeal(_denial(), _encounter())
    assert writer.info["status"] == "error" and "nope" in writer.info["reason"]


def test_drafter_on_the_engine_quotes_only_note_sentences(engine, llm_config):
    enc = _encounter()
    writer = LlmAppealWriter(AppealDrafter(engine, llm_config).draft, [TEXT], model=engine.model)
    letter = draft_appeal(_denial(), enc, writer=writer)
    template = draft_appeal(_denial(), enc)
    assert all(line in letter for line in template.splitlines())
    # a random-weight model: its paragraph is noise, but it is valid, or the letter is the template's
    assert writer.info["status"] in ("ok", "invalid_output")
    if writer.info["status"] == "ok":
        quoted = letter.split("Supporting statements from the note:\n", 1)[1].split("\n\n", 1)[0]
        for line in quoted.splitlines():
            assert line.strip().strip("-").strip().strip('"') in TEXT
    else:
        assert letter == template


def test_cli_appeal_without_a_model(tmp_path):
    enc_file = tmp_path / "enc.json"
    enc_file.write_text(_encounter().model_dump_json())
    env = {"MEDCODE_AUDIT": "0", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "medcode.cli", "claim", "appeal", str(enc_file), "--remit", str(X12),
                        "--claim", "DEN-0001", "--json"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["claim_id"] == "DEN-0001" and out["llm"]["status"] == "not_configured"
    assert "CO-167" in out["letter"] and SPAN in out["letter"]
    r = subprocess.run([sys.executable, "-m", "medcode.cli", "claim", "appeal", str(enc_file), "--remit", str(X12),
                        "--claim", "DEN-0003"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 1 and "coding_error" in r.stderr
