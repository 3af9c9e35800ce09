"""A local clearinghouse simulator: real HTTP on loopback, pyx12 999s, 277CAs, payer rules, 835s.

>>> with running_simulator() as base_url:                       # doctest: +SKIP
...     client = HttpClearinghouse(ClearinghouseConfig(base_url=base_url))
"""

from claims.simulator.adjudicate import ClaimResult, LineResult, SubmittedClaim, SubmittedLine, adjudicate
from claims.simulator.intake import Interchange837, claim_from_json, read_837p
from claims.simulator.rules import DEFAULT_RULES_FILE, PayerPolicy, PayerRules, load_rules
from claims.simulator.server import ClearinghouseSimulator, running_simulator
from claims.simulator.writers import write_277ca, write_835

__all__ = [
    "DEFAULT_RULES_FILE",
    "ClaimResult",
    "ClearinghouseSimulator",
    "Interchange837",
    "LineResult",
    "PayerPolicy",
    "PayerRules",
    "SubmittedClaim",
    "SubmittedLine",
    "adjudicate",
    "claim_from_json",
    "load_rules",
    "read_837p",
    "running_simulator",
    "write_277ca",
    "write_835",
]
