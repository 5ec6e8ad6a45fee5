"""FNC-1 scoring against cases worked out by hand."""

from __future__ import annotations

import pytest

from monitor.match.scoring import confusion_matrix, fnc_points, score_stances


def test_perfect_prediction_scores_one_hundred_percent() -> None:
    scores = score_stances(["agree", "unrelated"], ["agree", "unrelated"])
    assert scores.fnc_score == 1.25
    assert scores.fnc_best == 1.25
    assert scores.fnc_score_pct == 100.0


@pytest.mark.parametrize(
    ("gold", "predicted", "points"),
    [
        ("agree", "agree", 1.0),
        ("agree", "discuss", 0.25),  # right that it is related, wrong label
        ("disagree", "unrelated", 0.0),
        ("unrelated", "unrelated", 0.25),
        ("unrelated", "discuss", 0.0),
    ],
)
def test_points_per_pair_follow_fnc_weights(gold: str, predicted: str, points: float) -> None:
    assert fnc_points(gold, predicted) == points


def test_mixed_prediction_scores_hand_computed_percentage() -> None:
    # agree->discuss 0.25, disagree->disagree 1.0, discuss->unrelated 0, unrelated->agree 0:
    # 1.25 of a possible 1 + 1 + 1 + 0.25 = 3.25.
    scores = score_stances(
        ["agree", "disagree", "discuss", "unrelated"],
        ["discuss", "disagree", "unrelated", "agree"],
    )
    assert scores.fnc_score == 1.25
    assert scores.fnc_best == 3.25
    assert scores.fnc_score_pct == pytest.approx(100 * 1.25 / 3.25)


def test_per_class_f1_and_macro_f1_match_hand_computation() -> None:
    # agree: 1 hit, 2 gold, 1 predicted -> 2/3; discuss: 1 hit, 1 gold, 2 predicted -> 2/3;
    # unrelated: 1; disagree: absent on both sides -> 0.
    scores = score_stances(
        ["agree", "agree", "discuss", "unrelated"],
        ["agree", "discuss", "discuss", "unrelated"],
    )
    assert scores.f1 == pytest.approx(
        {"agree": 2 / 3, "disagree": 0.0, "discuss": 2 / 3, "unrelated": 1.0}
    )
    assert scores.macro_f1 == pytest.approx((2 / 3 + 0 + 2 / 3 + 1) / 4)
    assert scores.fnc_score_pct == pytest.approx(100 * 2.5 / 3.25)
    assert scores.accuracy == 0.75
    assert scores.related_accuracy == 1.0


def test_confusion_matrix_rows_are_gold_and_columns_predicted() -> None:
    matrix = confusion_matrix(["agree", "agree", "unrelated"], ["discuss", "agree", "agree"])
    assert matrix == [
        [1, 0, 1, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [1, 0, 0, 0],
    ]


def test_unknown_label_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown label"):
        score_stances(["agree"], ["supports"])


def test_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        score_stances(["agree", "discuss"], ["agree"])
