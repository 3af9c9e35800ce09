"""835 remittance: parse payments, adjustments and denials, and map CARC/RARC to actionable categories."""

from claims.remit.categories import CATEGORIES_FILE, CarcCatalog, Category, CodeInfo, load_catalog
from claims.remit.models import (
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    RemitStatus,
    Remittance,
    ServicePayment,
)
from claims.remit.parse import parse_835, parse_835_file

__all__ = [
    "CATEGORIES_FILE",
    "Adjustment",
    "CarcCatalog",
    "Category",
    "ClaimPayment",
    "CodeInfo",
    "ProviderAdjustment",
    "RemitStatus",
    "Remittance",
    "ServicePayment",
    "load_catalog",
    "parse_835",
    "parse_835_file",
]
