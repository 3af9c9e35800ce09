"""One typed settings object, read from the environment (prefix ``MEDCODE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDCODE_", env_nested_delimiter="__", extra="ignore")

    # where built artifacts (retrieval indexes, models) and run state live
    var_dir: Path = Field(default=PROJECT_ROOT / "var")
    out_dir: Path = Field(default=PROJECT_ROOT / "out")

    # local stand-ins
    dynamodb_endpoint: str | None = "http://127.0.0.1:8765"
    aws_region: str = "us-east-1"
    moto_endpoint: str | None = "http://127.0.0.1:5055"
    audit_table: str = "medcode-audit"

    # scrubbing: customer rule packs (YAML) are looked up here before the shipped ones
    rule_pack_dir: Path | None = None

    # coding
    retrieval_k: int = 50
    dense_enabled: bool = True
    accept_threshold: float = 0.80
    min_confidence: float = 0.35
    max_codes: int = 12
    # the ranker: "cross" (the trained cross-encoder reranks the fused shortlist; falls back to fused
    # when its artifact cannot be loaded) or "fused"; see docs/RANKER.md
    ranker: Literal["cross", "fused"] = "fused"
    ranker_artifact: Path | None = None  # default: serving/ranker/data/cross-v1
    ranker_top_k: int = 8
    # the cross-encoder reorders only candidates within this margin of the best fused score, and the
    # fused score still decides whether to code; negative: it reorders the whole shortlist and its
    # calibrated probability is the score the thresholds read
    ranker_margin: float = 0.1

    # LLM adjudication and appeal drafting (serving/llm, docs/LLM.md); no model path: ranker only
    llm_model_path: Path | None = None
    llm_timeout_s: float = Field(default=30.0, gt=0)
    llm_top_k: int = Field(default=8, ge=1, le=32)
    llm_max_model_len: int = Field(default=4096, ge=256)
    llm_device: str = Field(default="auto", pattern="^(auto|cpu|gpu)$")
    llm_weight: float = Field(default=0.5, ge=0, le=1)

    # the billing practice used when an encounter does not name one (demo and CLI defaults)
    billing_npi: str = "1234567893"
    billing_name: str = "MEDCODE DEMO CLINIC"
    billing_tax_id: str = "123456789"
    billing_address: str = "100 MAIN ST"
    billing_city: str = "SPRINGFIELD"
    billing_state: str = "IL"
    billing_zip: str = "627011234"
    submitter_id: str = "MEDCODE01"
    submitter_contact_name: str = "BILLING OFFICE"
    submitter_contact_phone: str = "8005550100"
    receiver_id: str = "CLEARHOUSE"
    receiver_name: str = "MEDCODE CLEARINGHOUSE"

    @property
    def index_dir(self) -> Path:
        return self.var_dir / "index"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
