"""The stance feature model: cue rows, training on a toy set, saving, loading and the blend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.errors import ModelError
from monitor.match.features import GlobalIdf, article_view, claim_view
from monitor.match.stance_features import (
    CUE_NAMES,
    STANCE_FEATURE_NAMES,
    STANCE_FEATURES_FILE,
    StanceFeatureModel,
    blend,
    cue_rows,
    train_stance_features,
)
from monitor.match.text import split_sentences

BODY = (
    "Officials allegedly saw the lights over the lake. The story is a hoax, police said. "
    "Reportedly the photos were doctored. Nobody was hurt."
)


def test_cue_rows_count_the_lead_the_closest_sentences_and_the_body() -> None:
    sentences = split_sentences(BODY)
    article = article_view(sentences, GlobalIdf.fit([["lights"]]))
    claim = claim_view("Lights were seen over the lake")
    [row] = cue_rows([claim], article, [[0]])
    values = dict(zip(CUE_NAMES, row, strict=True))
    assert values["hedging_best"] == 1  # "allegedly" in the closest sentence
    assert values["hedging_lead"] == 2  # and "reportedly" in the first three
    assert values["refuting_lead"] >= 1  # "hoax"
    assert values["refuting_words_new"] == 2  # "hoax" and "doctored"
    assert values["sentences"] == len(sentences)
    assert values["hedging_best_log"] == pytest.approx(np.log(2))


def _toy_rows(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=300)
    rows = rng.normal(size=(300, len(STANCE_FEATURE_NAMES)))
    rows[:, 0] += 3 * labels  # one column decides the class
    return rows, labels


def test_trained_model_learns_a_separable_toy_set_and_round_trips(tmp_path: Path) -> None:
    rows, labels = _toy_rows(1)
    model = train_stance_features(rows, labels, seed=1, rounds=60)
    test_rows, test_labels = _toy_rows(2)
    probabilities = model.predict(test_rows)
    assert probabilities.shape == (300, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.mean(probabilities.argmax(axis=1) == test_labels) > 0.9
    model.save(tmp_path)
    again = StanceFeatureModel.load(tmp_path)
    assert np.allclose(again.predict(test_rows), probabilities)
    assert again.predict(np.zeros((0, len(STANCE_FEATURE_NAMES)))).shape == (0, 3)


def test_a_broken_model_file_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / STANCE_FEATURES_FILE).write_text("not a model", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot load LightGBM model"):
        StanceFeatureModel.load(tmp_path)


def test_no_related_pairs_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="no related pairs"):
        train_stance_features(np.zeros((0, len(STANCE_FEATURE_NAMES))), np.zeros(0, int), 1)


def test_blend_is_a_weighted_geometric_mean_that_keeps_empty_rows() -> None:
    cross = np.array([[0.6, 0.1, 0.3], [0.0, 0.0, 0.0]])
    features = np.array([[0.1, 0.1, 0.8], [0.2, 0.2, 0.6]])
    assert blend(cross, features, 0.0) is cross
    mixed = blend(cross, features, 0.5)
    expected = np.sqrt(cross[0] * features[0])
    assert np.allclose(mixed[0], expected / expected.sum())
    assert mixed[0].argmax() == 2
    assert np.all(mixed[1] == 0.0)
