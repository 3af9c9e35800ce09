from __future__ import annotations

import pytest

from medcore.model import Severity
from rules.pack import PackError, layer_packs, load_pack


def test_cms_national_pack_loads_in_order():
    pack = load_pack("cms_national")
    ids = list(pack.rules)
    assert ids[0] == "ICD.NO_CODESET_FOR_DOS"
    assert ids.index("ICD.INVALID_FOR_DOS") < ids.index("ICD.EXCLUDES1")
    assert pack.rules["ICD.APPROXIMATE_RELEASE"].severity is Severity.warning
    assert all(s.enabled for s in pack.rules.values())


def test_extends_layers_overrides(tmp_path):
    (tmp_path / "mac.yaml").write_text(
        "name: mac\nversion: '1'\nextends: cms_national\nrules:\n"
        "  ICD.EXCLUDES1: {severity: warning}\n  CLAIM.DX_POINTER: {enabled: false}\n"
    )
    (tmp_path / "payer.yaml").write_text(
        f"name: payer\nversion: '2'\nextends: {tmp_path / 'mac.yaml'}\nrules:\n  ICD.SEX: {{severity: warning}}\n"
    )
    pack = load_pack(tmp_path / "payer.yaml")
    assert pack.name == "cms_national+mac+payer"
    assert pack.version == "2"
    assert pack.rules["ICD.EXCLUDES1"].severity is Severity.warning
    assert pack.rules["ICD.SEX"].severity is Severity.warning
    assert not pack.rules["CLAIM.DX_POINTER"].enabled
    assert "CLAIM.DX_POINTER" not in dict(pack.enabled())
    assert list(pack.rules) == list(load_pack("cms_national").rules)  # order kept


def test_layer_packs_later_wins():
    base = load_pack("cms_national")
    assert layer_packs(base) is base
    with pytest.raises(PackError):
        layer_packs()


@pytest.mark.parametrize(
    "body",
    ["rules: [ICD.SEX]\n", "rules:\n  ICD.SEX: {severity: fatal}\n", "rules:\n  ICD.SEX: {carc: '7'}\n"],
)
def test_malformed_packs_are_rejected(tmp_path, body):
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(PackError):
        load_pack(path)


def test_missing_pack_and_cycles(tmp_path):
    with pytest.raises(PackError, match="no rule pack"):
        load_pack("no_such_pack")
    (tmp_path / "a.yaml").write_text(f"extends: {tmp_path / 'b.yaml'}\nrules: {{}}\n")
    (tmp_path / "b.yaml").write_text(f"extends: {tmp_path / 'a.yaml'}\nrules: {{}}\n")
    with pytest.raises(PackError, match="cycle"):
        load_pack(tmp_path / "a.yaml")
