"""The two-stage model's decision rule, its calibration, and the shipped artefacts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from monitor.match import MODEL_DIR
from monitor.match.model import (
    CALIBRATION_FILE,
    CARD_FILE,
    Calibration,
    LexicalStage2,
    fit_isotonic,
    has_model,
)
from monitor.match.relatedness import RelatednessModel

needs_model = pytest.mark.skipif(
    not has_model(MODEL_DIR), reason=f"no trained model files in {MODEL_DIR}"
)


def test_isotonic_fit_is_increasing_and_pools_violations() -> None:
    raw = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    right = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    xs, ys = fit_isotonic(raw, right, bins=6)
    # 0.2 (right) then 0.3 (wrong) violate order and pool to 0.5 at x=0.25.
    assert xs == (0.1, 0.25, 0.4, 0.5, 0.6)
    assert ys == (0.0, 0.5, 1.0, 1.0, 1.0)


def test_confidence_interpolates_between_bins_and_clamps_outside() -> None:
    calibration = Calibration(bins={"contradicts": ((0.2, 0.8), (0.1, 0.7))})
    assert calibration.confidence("contradicts", 0.5) == pytest.approx(0.4)
    assert calibration.confidence("contradicts", 0.95) == pytest.approx(0.7)
    assert calibration.confidence("contradicts", 0.0) == pytest.approx(0.1)


def test_unfitted_label_keeps_its_raw_score_clamped() -> None:
    assert Calibration().confidence("discusses", 1.3) == 1.0


def test_calibration_survives_a_json_round_trip() -> None:
    calibration = Calibration(0.45, (0.8, 2.0, 1.0), 0.35, {"unrelated": ((0.5, 0.9), (0.6, 0.99))})
    restored = Calibration.from_dict(json.loads(json.dumps(calibration.as_dict())))
    assert restored == calibration


def test_lexical_stage2_puts_most_weight_on_its_label() -> None:
    [row] = LexicalStage2().predict_proba(
        [("Officials confirmed the dam burst", "Officials denied the dam burst. It is a hoax.")]
    )
    assert row.sum() == pytest.approx(1.0)
    assert int(np.argmax(row)) == 1  # contradicts


@needs_model
def test_shipped_files_are_each_under_30_mb() -> None:
    sizes = {path.name: path.stat().st_size for path in MODEL_DIR.iterdir() if path.is_file()}
    assert sizes
    assert max(sizes.values()) < 30 * 1024 * 1024, sizes


@needs_model
def test_shipped_relatedness_model_separates_related_from_unrelated() -> None:
    model = RelatednessModel.load(MODEL_DIR)
    # Rows from features.FEATURE_NAMES: a near-copy of the claim vs an article on another topic.
    related = [0.9, 0.8, 0.6, 0.9, 0.85, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 0.8]
    related += [0, -1, 8, 6.0, 3.0, 0, 0, 0.05, 0, 1, 0.0]
    unrelated = [0.0, 0.0, 0.01, 0.1, 0.08, 0.1, 0.1, 0.0, 0.0, 0.05, 0.0, 0.0]
    unrelated += [0, -1, 8, 6.0, 3.0, 0, 0, 0.05, 0, 1, 0.5]
    related_p, unrelated_p = model.predict(np.array([related, unrelated]))
    assert related_p > 0.9
    assert unrelated_p < 0.1


@needs_model
def test_shipped_card_names_base_model_licence_and_split() -> None:
    path = MODEL_DIR / CARD_FILE
    if not path.is_file():
        pytest.skip(f"{path} not written yet")
    card = json.loads(path.read_text(encoding="utf-8"))
    assert card["base_model_licence"] == "Apache-2.0"
    assert "topic_train_stances.csv" in card["training_data"]
    assert card["dev"]["tuned_rule"]["fnc_score_pct"] > 0


@needs_model
def test_shipped_calibration_loads() -> None:
    path = MODEL_DIR / CALIBRATION_FILE
    if not path.is_file():
        pytest.skip(f"{path} not written yet")
    calibration = Calibration.from_dict(json.loads(path.read_text(encoding="utf-8")))
    assert 0.0 < calibration.related_threshold < 1.0


def test_refuting_words_raise_disagree_and_rows_stay_normalised() -> None:
    from monitor.match.model import apply_refuting_prior

    stance = np.array([[0.6, 0.1, 0.3], [0.6, 0.1, 0.3]])
    boosted = apply_refuting_prior(stance, [0, 3])
    assert np.allclose(boosted.sum(axis=1), 1.0)
    assert np.allclose(boosted[0], stance[0])
    assert boosted[1, 1] > 0.4 > stance[1, 1]


def test_refuting_words_the_claim_uses_do_not_count() -> None:
    from monitor.match.model import refuting_count

    body = "The report is false. Officials called it a hoax and said the claim was untrue."
    assert refuting_count("Police say a false alarm closed the bridge.", body) == 2
    assert refuting_count("A bridge closed on Monday.", body) == 3


class _RecordingStage2:
    """A stage 2 that reads five sentences and remembers what it was given."""

    evidence_k = 5

    def __init__(self) -> None:
        self.pairs: list[tuple[str, str]] = []

    def predict_proba(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        self.pairs.extend(pairs)
        return np.full((len(pairs), 3), 1 / 3)


@needs_model
def test_stage2_reads_as_many_closest_sentences_as_its_card_says() -> None:
    from monitor.match.features import claim_view
    from monitor.match.model import load_two_stage

    model = load_two_stage(MODEL_DIR)
    recorder = _RecordingStage2()
    model.stage2 = recorder
    sentences = [f"Sentence {i} says the harbour bridge closed for repairs." for i in range(9)]
    scores = model.score(
        [claim_view("The harbour bridge closed for repairs")], model.view(sentences), 0.0
    )
    closest = recorder.pairs[0][1]
    assert closest == " ".join(sentences[:5])
    assert scores.evidence[0][:5] == sentences[:5]
    assert scores.features.shape == (1, 3)
