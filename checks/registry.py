"""Every check featmon knows. Adding a check is one module and one line here."""

from __future__ import annotations

from checks.base import Check
from checks.feature_mismatch import FeatureMismatch
from checks.hit_rate_drop import HitRateDrop
from checks.low_quality import LowQuality
from checks.missing_features import MissingFeatures
from checks.missing_quality import MissingQuality
from checks.prediction_volume import PredictionVolume
from checks.quality_mismatch import QualityMismatch
from checks.stale_predictions import StalePredictions
from checks.store_freshness import StoreFreshness

CHECKS: dict[str, type[Check]] = {
    c.name: c
    for c in (
        StalePredictions,
        QualityMismatch,
        FeatureMismatch,
        MissingQuality,
        LowQuality,
        MissingFeatures,
        StoreFreshness,
        PredictionVolume,
        HitRateDrop,
    )
}
