"""Denial management: prediction before submission, routing to review, and appeal drafting."""

from claims.denials.appeal import (
    APPEAL_TEMPLATE,
    AppealContext,
    AppealWriter,
    NotAppealable,
    TemplateAppealWriter,
    draft_appeal,
)
from claims.denials.features import DenialFeatures, LineFeatures, features_for_claim, note_signals, tokens
from claims.denials.history import HistoryRecord, synthetic_history
from claims.denials.model import (
    DEFAULT_THRESHOLD,
    DenialMetrics,
    DenialModel,
    default_model_path,
    train_denial_model,
)
from claims.denials.routing import route

__all__ = [
    "APPEAL_TEMPLATE",
    "DEFAULT_THRESHOLD",
    "AppealContext",
    "AppealWriter",
    "DenialFeatures",
    "DenialMetrics",
    "DenialModel",
    "HistoryRecord",
    "LineFeatures",
    "NotAppealable",
    "TemplateAppealWriter",
    "default_model_path",
    "draft_appeal",
    "features_for_claim",
    "note_signals",
    "route",
    "synthetic_history",
    "tokens",
    "train_denial_model",
]
