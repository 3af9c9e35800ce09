"""Training the cross-encoder ranker from the shipped reference data (``medcode train ranker``)."""

from serving.ranker.train.pairs import Example, Group, PairBuilder
from serving.ranker.train.trainer import TrainConfig, TrainReport, recalibrate, train

__all__ = ["Example", "Group", "PairBuilder", "TrainConfig", "TrainReport", "recalibrate", "train"]
