"""The denial model: hashed features → logistic regression, trained on the simulator's history.

The artifact is built locally (:func:`train_denial_model`, or ``benchmarks/denial_model.py``) and
saved under ``settings.var_dir / "models"``; nothing is downloaded. It is a pickle: load only
files this installation wrote.
"""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from claims.denials.features import DenialFeatures, tokens
from claims.denials.history import synthetic_history
from claims.simulator.rules import PayerRules, load_rules
from medcore.settings import Settings, get_settings

__all__ = ["DEFAULT_THRESHOLD", "DenialMetrics", "DenialModel", "default_model_path", "train_denial_model"]

DEFAULT_THRESHOLD = 0.5
N_FEATURES = 2**16


class DenialMetrics(BaseModel):
    """Held-out evaluation of a trained model."""

    model_config = ConfigDict(frozen=True)

    n_train: int
    n_test: int
    denial_rate_test: float
    auc: float
    threshold: float
    precision_at_threshold: float
    recall_at_threshold: float
    flagged_rate: float
    rules_version: str
    seed: int


class DenialModel:
    """A fitted classifier with its metadata; :meth:`score` returns P(denied)."""

    def __init__(self, pipeline, metrics: DenialMetrics, threshold: float = DEFAULT_THRESHOLD):
        self.pipeline = pipeline
        self.metrics = metrics
        self.threshold = threshold

    def score(self, features: DenialFeatures) -> float:
        return float(self.pipeline.predict_proba([tokens(features)])[0, 1])

    def score_many(self, features: list[DenialFeatures]) -> list[float]:
        return [float(p) for p in self.pipeline.predict_proba([tokens(f) for f in features])[:, 1]]

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            pickle.dump({"pipeline": self.pipeline, "metrics": self.metrics.model_dump(), "threshold": self.threshold}, fh)
        meta = {**self.metrics.model_dump(), "saved_at": datetime.now(UTC).isoformat(), "format": "pickle/sklearn"}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2))
        return path

    @classmethod
    def load(cls, path: Path) -> DenialModel:
        with path.open("rb") as fh:
            data = pickle.load(fh)  # noqa: S301 - our own artifact, written by save()
        return cls(data["pipeline"], DenialMetrics(**data["metrics"]), data["threshold"])


def default_model_path(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).var_dir / "models" / "denial_model.pkl"


def _pipeline(seed: int):
    from sklearn.feature_extraction import FeatureHasher
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        FeatureHasher(n_features=N_FEATURES, input_type="dict", alternate_sign=False),
        LogisticRegression(C=2.0, max_iter=3000, random_state=seed),
    )


def train_denial_model(
    n: int = 6000,
    *,
    seed: int = 7,
    test_fraction: float = 0.25,
    threshold: float = DEFAULT_THRESHOLD,
    rules: PayerRules | None = None,
    save_to: Path | None = None,
) -> DenialModel:
    """Generate a synthetic history, hold out ``test_fraction`` of it, fit, evaluate, optionally save.

    Returns
    -------
    DenialModel
        Fitted on the training split; ``metrics`` holds the held-out AUC and the precision and
        recall at ``threshold`` (the review threshold used by :func:`claims.denials.route`).
    """
    from sklearn.metrics import precision_score, recall_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    rules = rules or load_rules()
    history = synthetic_history(n, rules=rules, seed=seed)
    x = [tokens(r.features) for r in history]
    y = [int(r.denied) for r in history]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    pipeline = _pipeline(seed)
    pipeline.fit(x_train, y_train)
    proba = pipeline.predict_proba(x_test)[:, 1]
    flagged = [int(p >= threshold) for p in proba]
    metrics = DenialMetrics(
        n_train=len(y_train),
        n_test=len(y_test),
        denial_rate_test=round(sum(y_test) / len(y_test), 4),
        auc=round(float(roc_auc_score(y_test, proba)), 4),
        threshold=threshold,
        precision_at_threshold=round(float(precision_score(y_test, flagged, zero_division=0)), 4),
        recall_at_threshold=round(float(recall_score(y_test, flagged, zero_division=0)), 4),
        flagged_rate=round(sum(flagged) / len(flagged), 4),
        rules_version=rules.version,
        seed=seed,
    )
    model = DenialModel(pipeline, metrics, threshold)
    if save_to is not None:
        model.save(save_to)
    return model
