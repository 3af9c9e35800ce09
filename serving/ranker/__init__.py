"""Ranking of retrieved candidates for a mention."""

from serving.ranker.fused import FusedRanker, Ranked

__all__ = ["FusedRanker", "Ranked"]
