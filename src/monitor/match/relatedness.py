"""Stage 1: is the article about the claim at all? LightGBM on `features.FEATURE_NAMES`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm
import numpy as np

from monitor.errors import ModelError
from monitor.match.features import FEATURE_NAMES

RELATEDNESS_FILE = "relatedness.txt"
PARAMETERS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 2,
    "verbose": -1,
}
ROUNDS = 200  # dev related accuracy 98.8% at 200, 98.8% at 400, 98.7% at 800


class RelatednessModel:
    """P(related) of a claim-article pair from its feature vector."""

    def __init__(self, booster: lightgbm.Booster) -> None:
        self._booster = booster
        names = list(booster.feature_name())
        if names != list(FEATURE_NAMES):
            raise ModelError(
                f"relatedness model expects features {names}, code has {FEATURE_NAMES}"
            )

    @classmethod
    def load(cls, model_dir: Path) -> RelatednessModel:
        """Read the LightGBM text model from a model folder."""
        path = model_dir / RELATEDNESS_FILE
        try:
            booster = lightgbm.Booster(model_file=str(path))
        except lightgbm.basic.LightGBMError as exc:
            raise ModelError(f"{path}: cannot load LightGBM model: {exc}") from exc
        return cls(booster)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """P(related) per row; an empty matrix gives an empty result."""
        if len(features) == 0:
            return np.zeros(0, dtype=np.float64)
        result: np.ndarray = np.asarray(self._booster.predict(features, num_threads=2))
        return result

    def save(self, model_dir: Path) -> Path:
        """Write the LightGBM text model; returns its path."""
        path = model_dir / RELATEDNESS_FILE
        self._booster.save_model(str(path))
        return path


def train_relatedness(
    features: np.ndarray, related: np.ndarray, seed: int, rounds: int = ROUNDS
) -> RelatednessModel:
    """Fit stage 1 on feature rows and 0/1 related labels."""
    parameters = {**PARAMETERS, "seed": seed, "deterministic": True}
    data = lightgbm.Dataset(features, label=related, feature_name=list(FEATURE_NAMES))
    booster = lightgbm.train(parameters, data, num_boost_round=rounds)
    return RelatednessModel(booster)
