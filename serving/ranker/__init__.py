"""Ranking of retrieved candidates for a mention.

Imports are lazy so that :mod:`serving.ranker.head` (numpy only) can be loaded by the Triton
server's own virtualenv without pulling in the reference data.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FusedRanker", "Ranked"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from serving.ranker import fused

        return getattr(fused, name)
    raise AttributeError(name)
