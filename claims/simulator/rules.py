"""Payer adjudication rules for the simulator, read from YAML (default ``claims/data/payer_rules.yaml``)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from medcore.model import PayerKind

__all__ = ["DEFAULT_RULES_FILE", "MedicalNecessityRule", "ModifierRule", "PayerPolicy", "PayerRules", "load_rules"]

DEFAULT_RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "payer_rules.yaml"


class ModifierRule(BaseModel):
    """Deny (CO-4) a line billing one of ``codes`` without ``modifier`` when the claim also bills any of ``when_billed_with_any``."""

    model_config = ConfigDict(frozen=True)

    codes: list[str]
    modifier: str
    when_billed_with_any: list[str] = Field(default_factory=list)


class MedicalNecessityRule(BaseModel):
    """Deny (CO-50) a line billing one of ``codes`` unless a diagnosis it points to starts with a listed prefix."""

    model_config = ConfigDict(frozen=True)

    codes: list[str]
    supporting_diagnosis_prefixes: list[str]


class PayerPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    payer_id: str
    name: str
    kind: PayerKind = PayerKind.commercial
    allowed_multiplier: Decimal = Decimal(1)
    deductible: Decimal = Decimal(0)
    coinsurance: Decimal = Decimal(0)
    not_covered_diagnoses: list[str] = Field(default_factory=list)
    non_covered_procedures: list[str] = Field(default_factory=list)
    prior_authorization: list[str] = Field(default_factory=list)
    required_modifiers: list[ModifierRule] = Field(default_factory=list)
    medical_necessity: list[MedicalNecessityRule] = Field(default_factory=list)
    random_denial_rate: float = Field(default=0.0, ge=0.0, le=1.0)


class PayerRules(BaseModel):
    """Every payer's policy plus the shared fee schedule."""

    model_config = ConfigDict(frozen=True)

    version: str
    source: str = ""
    fee_schedule: dict[str, Decimal] = Field(default_factory=dict)
    unlisted_allowed_ratio: Decimal = Decimal("0.6")
    payers: list[PayerPolicy] = Field(default_factory=list)
    default_payer: PayerPolicy

    def policy(self, payer_id: str | None) -> PayerPolicy:
        return next((p for p in self.payers if p.payer_id == payer_id), self.default_payer)

    def without_noise(self) -> PayerRules:
        """The same rules with every ``random_denial_rate`` set to 0 (deterministic tests)."""
        return self.model_copy(
            update={
                "payers": [p.model_copy(update={"random_denial_rate": 0.0}) for p in self.payers],
                "default_payer": self.default_payer.model_copy(update={"random_denial_rate": 0.0}),
            }
        )


def load_rules(path: Path | str | None = None) -> PayerRules:
    """Load payer rules from a YAML file (default: the shipped synthetic rules)."""
    return _load(Path(path) if path else DEFAULT_RULES_FILE)


@lru_cache(maxsize=8)
def _load(path: Path) -> PayerRules:
    raw = yaml.safe_load(path.read_text())
    raw["fee_schedule"] = {str(k): v for k, v in (raw.get("fee_schedule") or {}).items()}
    return PayerRules.model_validate(raw)
