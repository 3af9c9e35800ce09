from __future__ import annotations

from datetime import date

from medcore.model import Severity
from rules import load_pack
from rules.pack import available_packs, customer_pack_dir


def ids(findings):
    return [f.rule_id for f in findings]


COMMERCIAL = load_pack("commercial_example")


def test_pos_ed_and_office_em(scrub_claim, claim, line):
    [f] = scrub_claim(claim([line("99284")], ("R07.9",)))
    assert (f.rule_id, f.carc) == ("CLAIM.POS", "5") and "23" in f.fix
    assert scrub_claim(claim([line("99284")], ("R07.9",), pos="23", setting="ed")) == []
    assert ids(scrub_claim(claim([line("99213")], ("J06.9",), pos="21"))) == ["CLAIM.POS"]
    assert scrub_claim(claim([line("99213")], ("J06.9",), pos="22")) == []


def test_telehealth_modifier_is_the_payers_rule(scrub_claim, claim, line):
    tele = claim([line("99213")], ("I10",), pos="10", setting="telehealth")
    assert scrub_claim(tele) == []  # Medicare: POS 10 suffices
    assert ids(scrub_claim(tele, pack=COMMERCIAL)) == ["CLAIM.POS"]
    tele95 = claim([line("99213", "95")], ("I10",), pos="10", setting="telehealth")
    assert scrub_claim(tele95, pack=COMMERCIAL) == []
    # a telehealth visit on the in-person POS needs 95 everywhere
    assert ids(scrub_claim(claim([line("99213")], ("I10",), setting="telehealth"))) == ["CLAIM.POS"]


def test_timely_filing_uses_the_injected_today(scrub_claim, claim, line):
    enc = claim([line("99213")], ("I10",), dos=date(2026, 4, 10))
    assert scrub_claim(enc, today=date(2027, 4, 10)) == []  # 365 days
    [f] = scrub_claim(enc, today=date(2027, 4, 11))
    assert (f.rule_id, f.carc) == ("CLAIM.TIMELY_FILING", "29") and "366 days" in f.message
    assert "2026" not in f.message  # no date of service in the message
    com = claim([line("99213")], ("I10",), dos=date(2026, 4, 10), kind="commercial")
    assert scrub_claim(com, today=date(2027, 6, 1)) == []  # national pack: commercial not set
    assert ids(scrub_claim(com, today=date(2026, 7, 10), pack=COMMERCIAL)) == ["CLAIM.TIMELY_FILING"]


def test_duplicate_lines(scrub_claim, claim, line):
    [f] = scrub_claim(claim([line("99213"), line("99213")], ("I10",)))
    assert (f.rule_id, f.carc) == ("CLAIM.DUPLICATE_LINE", "18")
    assert scrub_claim(claim([line("85025"), line("85025", "91")], ("D64.9",))) == []


def test_bilateral(scrub_claim, claim, line):
    [f] = scrub_claim(claim([line("69210"), line("69210")], ("H61.23",)))
    assert f.rule_id == "CLAIM.BILATERAL" and "50" in f.fix
    assert ids(scrub_claim(claim([line("73560", "RT"), line("73560")], ("M17.0",)))) == ["CLAIM.BILATERAL"]
    assert scrub_claim(claim([line("73560", "RT"), line("73560", "LT")], ("M17.0",))) == []
    assert scrub_claim(claim([line("69210", "50")], ("H61.23",))) == []
    # two identical RT lines are a duplicate, not a bilateral problem
    assert ids(scrub_claim(claim([line("73560", "RT"), line("73560", "RT")], ("M17.0",)))) == [
        "CLAIM.DUPLICATE_LINE"]


def test_multiple_procedures_only_where_the_payer_asks_for_51(scrub_claim, claim, line):
    enc = claim([line("11200"), line("17000")], ("L98.8",), kind="commercial")
    assert scrub_claim(enc) == []
    [f] = scrub_claim(enc, pack=COMMERCIAL)
    assert (f.rule_id, f.severity) == ("CLAIM.MULTIPLE_PROCEDURE", Severity.warning)
    assert scrub_claim(claim([line("11200"), line("17000", "51")], ("L98.8",), kind="commercial"),
                       pack=COMMERCIAL) == []
    # add-on codes are exempt from 51
    assert scrub_claim(claim([line("11042"), line("11045")], ("L97.412",), kind="commercial"),
                       pack=COMMERCIAL) == []


def test_prior_auth_from_the_payer_pack(scrub_claim, claim, line):
    enc = claim([line("72148")], ("M54.50",), kind="commercial", pos="22")
    assert scrub_claim(enc) == []
    [f] = scrub_claim(enc, pack=COMMERCIAL)
    assert (f.rule_id, f.carc, f.codes) == ("PAYER.PRIOR_AUTH", "197", ["72148"])


def test_pack_config_layers_key_by_key():
    pack = load_pack("commercial_example")
    assert pack.config["timely_filing_days"] == {"medicare": 365, "medicaid": 365, "commercial": 90, "self_pay": None}
    assert pack.config["telehealth_pos"] == ["02", "10"]
    mac = load_pack("mac_jurisdiction_example")
    assert mac.name == "cms_national+mac_jurisdiction_example" and "64612" in mac.config["prior_auth"]


def test_customer_pack_directory(tmp_path, monkeypatch):
    from medcore.settings import get_settings

    monkeypatch.setenv("MEDCODE_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        d = customer_pack_dir()
        assert d == tmp_path / "rule_packs"
        d.mkdir()
        (d / "acme.yaml").write_text(
            "name: acme\nversion: '1'\nextends: commercial_example\nrules:\n  ICD.SEX: {severity: warning}\n"
            "config:\n  timely_filing_days: {commercial: 120}\n"
        )
        pack = load_pack("acme")
        assert pack.name == "cms_national+commercial_example+acme"
        assert pack.config["timely_filing_days"]["commercial"] == 120
        assert "acme" in available_packs() and "cms_national" in available_packs()
    finally:
        get_settings.cache_clear()
