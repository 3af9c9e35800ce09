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
    """OPTIONAL slot for the LLM verification deployment (serving/llm/, built by another issue)."""

    model_config = ConfigDict(extra="allow")

    enabled: bool = False


class AppArgs(BaseModel):
    """``applications[].args`` of the Serve config: what ``serving.app:build_app`` receives."""

    model_config = ConfigDict(extra="forbid")

    api: ApiConfig = Field(default_factory=ApiConfig)
    ranker: RankerArgs = Field(default_factory=RankerArgs)
    retriever: RetrieverArgs = Field(default_factory=RetrieverArgs)
    llm: LlmArgs = Field(default_factory=LlmArgs)
