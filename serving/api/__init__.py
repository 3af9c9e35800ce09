"""The partner coding API: HTTP app, API keys, usage metering, limits (no Ray imports here)."""

from serving.api.config import ApiConfig, ApiTables, AppArgs, TenantLimits
from serving.api.keys import KeyInfo, KeyStore
from serving.api.metering import Outcome, Usage, UsageMeter, units_for

__all__ = [
    "ApiConfig",
    "ApiTables",
    "AppArgs",
    "KeyInfo",
    "KeyStore",
    "Outcome",
    "TenantLimits",
    "Usage",
    "UsageMeter",
    "units_for",
]
