"""Claim scrubbing: ICD-10-CM validity, demographic, Excludes1, sequencing and claim-level edits.

Rules are driven by the ICD-10-CM release in effect on the date of service and by versioned tables
under ``rules/data``; rule packs under ``rules/packs`` choose which rules run and at what severity.
"""

from rules.base import Hit, Rule, ScrubContext
from rules.engine import RULES, build_context, scrub
from rules.pack import PackError, RulePack, RuleSetting, default_pack, layer_packs, load_pack

__all__ = [
    "RULES",
    "Hit",
    "PackError",
    "Rule",
    "RulePack",
    "RuleSetting",
    "ScrubContext",
    "build_context",
    "default_pack",
    "layer_packs",
    "load_pack",
    "scrub",
]
