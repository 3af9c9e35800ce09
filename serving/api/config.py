"""Settings of the partner API: limits and tables.

Limits come from the Serve config (``serving/serve_config.yaml``, ``applications[].args.api``) so the
local run and the cluster read one file; table names come from the environment like the rest of
medcode's settings (``MEDCODE_API_KEYS_TABLE``, ``MEDCODE_API_USAGE_TABLE``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TenantLimits(BaseModel):
    """Quota (units per calendar month, UTC) and rate limit (requests per second, with a burst)."""

    model_config = ConfigDict(extra="forbid")

    quota_units_per_month: int | None = Field(default=None, ge=1, description="None: unlimited")
    rate_per_s: float = Field(default=20.0, gt=0)
    burst: int = Field(default=40, ge=1)


class ApiConfig(BaseModel):
    """``args.api`` of the Serve config."""

    model_config = ConfigDict(extra="forbid")

    max_batch_notes: int = Field(default=16, ge=1, le=256)
    max_note_chars: int = Field(default=100_000, ge=1)
    max_body_bytes: int = Field(default=2_000_000, ge=1)
    default_limits: TenantLimits = Field(default_factory=TenantLimits)
    tenants: dict[str, TenantLimits] = Field(default_factory=dict, description="per-tenant overrides")
    key_cache_s: float = Field(default=30.0, ge=0, description="how long a looked-up key is trusted (revocation lag)")
    coder_threads: int = Field(default=1, ge=1, le=16, description="pipeline threads per ingress replica")

    def limits(self, tenant: str) -> TenantLimits:
        return self.tenants.get(tenant, self.default_limits)


class ApiTables(BaseSettings):
    """Where keys and usage live (DynamoDB; DynamoDB Local through ``MEDCODE_DYNAMODB_ENDPOINT``)."""

    model_config = SettingsConfigDict(env_prefix="MEDCODE_", extra="ignore")

    api_keys_table: str = "medcode-api-keys"
    api_usage_table: str = "medcode-api-usage"


class RankerArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str = Field(default="inprocess", pattern="^(inprocess|triton)$")
    triton_url: str = "127.0.0.1:8010"
    triton_model: str = "fused_head"
    max_batch_size: int = Field(default=32, ge=1)
    batch_wait_timeout_s: float = Field(default=0.005, ge=0)


class RetrieverArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dense: bool | None = Field(default=None, description="None: MEDCODE_DENSE_ENABLED")
    preload: bool = True


class LlmArgs(BaseModel):
    """``args.llm``: the LLM deployment (serving/llm, docs/LLM.md). ``None`` fields come from ``MEDCODE_LLM_*``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(default=None, description="None: on when a model path is configured")
    model_path: str | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    top_k: int | None = Field(default=None, ge=1, le=32)
    max_model_len: int | None = Field(default=None, ge=256)
    device: str | None = Field(default=None, pattern="^(auto|cpu|gpu)$")
    weight: float | None = Field(default=None, ge=0, le=1)
    max_num_seqs: int | None = Field(default=None, ge=1)
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)

    def resolved(self) -> dict | None:
        """The engine's ``LlmConfig`` fields, or None when the LLM is off; settings fill what is unset."""
        from serving.llm.config import LlmConfig

        if self.enabled is False:
            return None
        base = LlmConfig.from_settings(model_path=self.model_path)
        if base is None:
            if self.enabled:
                raise ValueError("args.llm.enabled is true but no model path is set (args.llm.model_path or "
                                 "MEDCODE_LLM_MODEL_PATH)")
            return None
        over = {k: v for k, v in self.model_dump(exclude={"enabled", "model_path"}).items() if v is not None}
        return base.model_copy(update=over).model_dump(mode="json")


class AppArgs(BaseModel):
    """``applications[].args`` of the Serve config: what ``serving.app:build_app`` receives."""

    model_config = ConfigDict(extra="forbid")

    api: ApiConfig = Field(default_factory=ApiConfig)
    ranker: RankerArgs = Field(default_factory=RankerArgs)
    retriever: RetrieverArgs = Field(default_factory=RetrieverArgs)
    llm: LlmArgs = Field(default_factory=LlmArgs)
