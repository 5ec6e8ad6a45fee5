"""Stage 2's second opinion: LightGBM on cue-word and similarity features of a related pair.

The cross-encoder reads the claim next to a few sentences; this model reads counts over the whole
body (hedging in the lead, refuting words anywhere) that decide agree vs discuss in news copy. Its
probabilities are blended with the cross-encoder's by a weighted geometric mean whose weight is
fitted on the topic dev split with the rest of the decision rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np

from monitor.errors import ModelError
from monitor.match.features import FEATURE_NAMES, ArticleView, ClaimView
from monitor.match.lexical import count_cues

STANCE_FEATURES_FILE = "stance_features.txt"
LEAD_CUE_SENTENCES = 3
CUE_NAMES: tuple[str, ...] = (
    "refuting_best",
    "confirming_best",
    "hedging_best",
    "refuting_lead",
    "confirming_lead",
    "hedging_lead",
    "refuting_per_sentence",
    "confirming_per_sentence",
    "hedging_per_sentence",
    "refuting_in_claim",
    "hedging_in_claim",
    "sentences",
    "refuting_best_log",
    "confirming_best_log",
    "hedging_best_log",
    "refuting_lead_log",
    "confirming_lead_log",
    "hedging_lead_log",
    "refuting_words_new",
)
STANCE_FEATURE_NAMES: tuple[str, ...] = (*FEATURE_NAMES, *CUE_NAMES)
PARAMETERS: dict[str, Any] = {
    "objective": "multiclass",
    "num_class": 3,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "num_threads": 2,
    "verbose": -1,
}
# Dev related pairs, class-weighted: macro-F1 0.495 alone at 150 rounds, 0.503 at 400; blended
# with the cross-encoder both add about 0.01-0.02 macro-F1 and 0.2-0.3 FNC points.
ROUNDS = 150
_REFUTING = re.compile(
    r"\b(false|fake|hoax(?:es)?|debunk\w*|untrue|baseless|bogus|fabricat\w*|myth|not true|"
    r"no evidence|satir\w*|retract\w*|misleading|unfounded|made up|phony|phoney|doctored|"
    r"photoshopped|not real)\b",
    re.IGNORECASE,
)


def refuting_count(claim: str, body: str) -> int:
    """Refuting words in the body that the claim itself does not use."""
    in_claim = {word.lower() for word in _REFUTING.findall(claim)}
    return sum(1 for word in _REFUTING.findall(body) if word.lower() not in in_claim)


def cue_rows(
    claims: Sequence[ClaimView], article: ArticleView, best: Sequence[Sequence[int]]
) -> np.ndarray:
    """CUE_NAMES rows for claims against one article, given each claim's closest sentences."""
    sentences = article.index.sentences
    count = max(len(sentences), 1)
    lead = count_cues(sentences[:LEAD_CUE_SENTENCES])
    body = count_cues(sentences)
    text = " ".join(sentences)
    rows = np.zeros((len(claims), len(CUE_NAMES)))
    for row, (claim, positions) in enumerate(zip(claims, best, strict=True)):
        near = count_cues([sentences[p] for p in positions])
        counts = (
            near.refuting,
            near.confirming,
            near.hedging,
            lead.refuting,
            lead.confirming,
            lead.hedging,
        )
        rows[row] = [
            *counts,
            body.refuting / count,
            body.confirming / count,
            body.hedging / count,
            claim.cues.refuting,
            claim.cues.hedging,
            len(sentences),
            *(math.log1p(value) for value in counts),
            refuting_count(claim.text, text),
        ]
    return rows


class StanceFeatureModel:
    """P(agree, disagree, discuss) of a related pair from its STANCE_FEATURE_NAMES row."""

    def __init__(self, booster: lightgbm.Booster) -> None:
        self._booster = booster
        names = list(booster.feature_name())
        if names != list(STANCE_FEATURE_NAMES):
            raise ModelError(
                f"stance feature model expects features {names}, code has {STANCE_FEATURE_NAMES}"
            )

    @classmethod
    def load(cls, model_dir: Path) -> StanceFeatureModel:
        """Read the LightGBM text model from a model folder."""
        path = model_dir / STANCE_FEATURES_FILE
        try:
            booster = lightgbm.Booster(model_file=str(path))
        except lightgbm.basic.LightGBMError as exc:
            raise ModelError(f"{path}: cannot load LightGBM model: {exc}") from exc
        return cls(booster)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Probability rows (n, 3); an empty matrix gives an empty result."""
        if len(rows) == 0:
            return np.zeros((0, 3), dtype=np.float64)
        result: np.ndarray = np.asarray(self._booster.predict(rows, num_threads=2))
        return result.reshape(len(rows), 3)

    def save(self, model_dir: Path) -> Path:
        """Write the LightGBM text model; returns its path."""
        path = model_dir / STANCE_FEATURES_FILE
        self._booster.save_model(str(path))
        return path


def train_stance_features(
    rows: np.ndarray, labels: np.ndarray, seed: int, rounds: int = ROUNDS
) -> StanceFeatureModel:
    """Fit on related pairs (labels 0 agree, 1 disagree, 2 discuss), each class weighted equally."""
    if len(rows) == 0:
        raise ModelError("no related pairs to train the stance feature model on")
    shares = np.array([max(float(np.mean(labels == k)), 1e-9) for k in range(3)])
    weights = (1.0 / shares)[labels]
    parameters = {**PARAMETERS, "seed": seed, "deterministic": True}
    data = lightgbm.Dataset(
        rows, label=labels, weight=weights / weights.mean(), feature_name=list(STANCE_FEATURE_NAMES)
    )
    return StanceFeatureModel(lightgbm.train(parameters, data, num_boost_round=rounds))


def blend(cross: np.ndarray, features: np.ndarray, weight: float) -> np.ndarray:
    """Weighted geometric mean of two probability rows, renormalised; zero rows stay zero."""
    if weight <= 0.0 or len(cross) == 0:
        return cross
    logs = (1.0 - weight) * np.log(np.clip(cross, 1e-6, 1.0)) + weight * np.log(
        np.clip(features, 1e-6, 1.0)
    )
    mixed = np.exp(logs)
    mixed /= mixed.sum(axis=1, keepdims=True)
    empty = cross.sum(axis=1) == 0
    mixed[empty] = 0.0
    result: np.ndarray = mixed
    return result
