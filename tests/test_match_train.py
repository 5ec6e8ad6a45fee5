"""The pieces of `monitor train` that need no torch: decision rule, confidence map, precision."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.match.model import Calibration
from monitor.match.train import choose_rule, fit_confidence, fnc_predictions, precision_at

# Stage-2 columns: agree, disagree, discuss.
RELATED = np.array([0.9, 0.9, 0.9, 0.4, 0.1])
STANCE = np.array(
    [
        [0.6, 0.1, 0.3],
        [0.2, 0.35, 0.45],
        [0.1, 0.1, 0.8],
        [0.7, 0.1, 0.2],
        [0.0, 0.0, 0.0],
    ]
)


def test_predictions_follow_threshold_and_weights() -> None:
    assert fnc_predictions(RELATED, STANCE, Calibration()) == [
        "agree",
        "discuss",
        "discuss",
        "unrelated",
        "unrelated",
    ]
    boosted = Calibration(0.3, (1.0, 1.5, 1.0))
    assert fnc_predictions(RELATED, STANCE, boosted) == [
        "agree",
        "disagree",
        "discuss",
        "agree",
        "unrelated",
    ]


def test_rule_search_finds_the_rule_that_fits_the_gold_labels() -> None:
    gold = ["agree", "disagree", "discuss", "agree", "unrelated"]
    rule = choose_rule(gold, RELATED, STANCE)
    assert fnc_predictions(RELATED, STANCE, rule) == gold


def test_confidence_map_is_fitted_per_predicted_label() -> None:
    related = np.full(40, 0.95)
    stance = np.tile([0.8, 0.1, 0.1], (40, 1))
    gold = ["agree"] * 30 + ["discuss"] * 10  # three in four agree calls are right
    calibration = fit_confidence(gold, related, stance, Calibration())
    assert set(calibration.bins) == {"corroborates"}
    assert calibration.confidence("corroborates", 0.76) == pytest.approx(0.75)


def test_precision_counts_only_calls_at_or_above_the_threshold() -> None:
    gold = ["agree", "discuss", "disagree", "agree"]
    predicted = ["agree", "agree", "disagree", "agree"]
    confidence = np.array([0.9, 0.7, 0.65, 0.3])
    assert precision_at(gold, predicted, confidence, 0.6) == {
        "corroborates": {"calls": 2, "precision": 0.5},
        "contradicts": {"calls": 1, "precision": 1.0},
    }
