"""Rule packs: which rules run, in what order, at what severity.

Packs are YAML files layered from broad to narrow (CMS national → MAC → commercial payer). The first
pack fixes the order; a later pack may disable a rule, change its severity, or append a rule::

    name: acme_commercial
    version: "2026.1"
    extends: cms_national          # optional; resolved from rules/packs/
    rules:
      ICD.SEX: {severity: warning}
      CLAIM.DX_POINTER: {enabled: false}
    config:                        # optional; merged key by key over the packs underneath
      timely_filing_days: {commercial: 90}
      prior_auth: {"72148": "MRI lumbar spine"}

``config`` holds the payer facts rules read (timely filing days per payer kind, telehealth modifier
policy, codes needing prior authorization). A mapping value is merged one level deep, so a payer pack
can change ``timely_filing_days.commercial`` and keep the other kinds; any other value is replaced.

Pack names resolve first in the customer pack directory (``settings.rule_pack_dir`` when that setting
exists, else ``settings.var_dir / "rule_packs"``), then in ``rules/packs/``; so a customer adds a
pack by dropping a YAML file there, and may extend any shipped pack by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from medcore.model import Severity
from medcore.settings import get_settings

PACK_DIR = Path(__file__).resolve().parent / "packs"
DEFAULT_PACK = "cms_national"


class PackError(ValueError):
    """A pack file is malformed or names a rule the engine does not have."""


@dataclass(frozen=True, slots=True)
class RuleSetting:
    enabled: bool = True
    severity: Severity | None = None  # None: the rule's own default


@dataclass(frozen=True, slots=True)
class RulePack:
    """An ordered set of rule settings.

    Parameters
    ----------
    name : str
        Pack name; layered packs join their names with ``+``.
    version : str
        The pack's own version.
    rules : dict of str to RuleSetting
        Settings by rule ID, in run order.
    config : dict
        Payer facts the rules read (see the module docstring).
    """

    name: str
    version: str = "0"
    rules: dict[str, RuleSetting] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def enabled(self) -> list[tuple[str, RuleSetting]]:
        return [(rid, s) for rid, s in self.rules.items() if s.enabled]

    def layer(self, override: RulePack) -> RulePack:
        """This pack with ``override`` applied on top (its settings win, field by field)."""
        merged = dict(self.rules)
        for rid, s in override.rules.items():
            base = merged.get(rid)
            if base is None:
                merged[rid] = s
            else:
                merged[rid] = replace(
                    base,
                    enabled=s.enabled,
                    severity=s.severity if s.severity is not None else base.severity,
                )
        config = dict(self.config)
        for key, value in override.config.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        return RulePack(f"{self.name}+{override.name}", override.version, merged, config)


def _parse(data: object, origin: str) -> tuple[RulePack, str | None]:
    if not isinstance(data, dict) or not isinstance(data.get("rules"), dict):
        raise PackError(f"{origin}: a pack needs a 'rules' mapping")
    rules: dict[str, RuleSetting] = {}
    for rid, raw in data["rules"].items():
        raw = raw or {}
        if not isinstance(raw, dict) or set(raw) - {"enabled", "severity"}:
            raise PackError(f"{origin}: rule {rid}: only 'enabled' and 'severity' may be set")
        try:
            sev = Severity(raw["severity"]) if raw.get("severity") is not None else None
        except ValueError as exc:
            raise PackError(f"{origin}: rule {rid}: severity must be 'error' or 'warning'") from exc
        rules[str(rid)] = RuleSetting(enabled=bool(raw.get("enabled", True)), severity=sev)
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise PackError(f"{origin}: 'config' must be a mapping")
    pack = RulePack(str(data.get("name") or origin), str(data.get("version", "0")), rules, config)
    return pack, data.get("extends")


def customer_pack_dir() -> Path:
    """Where customers drop their own packs: ``settings.rule_pack_dir`` or ``var_dir / "rule_packs"``."""
    settings = get_settings()
    configured = getattr(settings, "rule_pack_dir", None)
    return Path(configured) if configured else settings.var_dir / "rule_packs"


def pack_dirs() -> list[Path]:
    """Directories searched for a pack named without a path, in order."""
    return [customer_pack_dir(), PACK_DIR]


def _resolve(ref: str | Path) -> Path:
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    for d in pack_dirs():
        for suffix in (".yaml", ".yml"):
            candidate = d / f"{ref}{suffix}"
            if candidate.is_file():
                return candidate
    return PACK_DIR / f"{ref}.yaml"


def available_packs() -> list[str]:
    """Names of the packs that can be loaded by name (customer packs first)."""
    names: list[str] = []
    for d in pack_dirs():
        if d.is_dir():
            names += [p.stem for p in sorted(d.glob("*.y*ml")) if p.stem not in names]
    return names


def load_pack(ref: str | Path) -> RulePack:
    """Load a pack by name (a file in ``rules/packs/``) or path, following ``extends``.

    Parameters
    ----------
    ref : str or Path
        ``"cms_national"`` (looked up in the customer pack directory, then ``rules/packs/``) or a path
        to a YAML file.

    Returns
    -------
    RulePack
        The pack with every pack it extends layered underneath.
    """
    seen: list[Path] = []
    chain: list[RulePack] = []
    nxt: str | Path | None = ref
    while nxt is not None:
        path = _resolve(nxt).resolve()
        if path in seen:
            raise PackError(f"{path.name}: 'extends' forms a cycle")
        seen.append(path)
        try:
            data = yaml.safe_load(path.read_text())
        except FileNotFoundError as exc:
            raise PackError(f"no rule pack {nxt!s}") from exc
        pack, nxt = _parse(data, path.name)
        chain.append(pack)
    return layer_packs(*reversed(chain))


def layer_packs(*packs: RulePack) -> RulePack:
    """Layer packs from broad to narrow; later packs override earlier ones."""
    if not packs:
        raise PackError("layer_packs needs at least one pack")
    out = packs[0]
    for p in packs[1:]:
        out = out.layer(p)
    return out


@lru_cache(maxsize=1)
def default_pack() -> RulePack:
    """The shipped CMS national pack (never a customer file of that name), loaded once per process."""
    return load_pack(PACK_DIR / f"{DEFAULT_PACK}.yaml")
