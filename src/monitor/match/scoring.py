"""FNC-1 scoring: the weighted competition score, macro-F1, per-class F1, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.match.fnc import FNC_LABELS, RELATED_LABELS


@dataclass(frozen=True, slots=True)
class StanceScores:
    """Scores of predicted labels against gold labels."""

    fnc_score: float  # points earned
    fnc_best: float  # points a perfect prediction earns
    fnc_score_pct: float
    macro_f1: float
    f1: dict[str, float]
    confusion: list[list[int]]  # rows gold, columns predicted, in FNC_LABELS order
    accuracy: float
    related_accuracy: float  # the related-vs-unrelated call alone


def fnc_points(gold: str, predicted: str) -> float:
    """Points for one pair: 0.25 for the right related/unrelated call, 0.75 for the exact label."""
    points = 0.0
    if (gold in RELATED_LABELS) == (predicted in RELATED_LABELS):
        points += 0.25
    if gold in RELATED_LABELS and gold == predicted:
        points += 0.75
    return points


def fnc_best_points(gold: str) -> float:
    """The most one pair can earn: 1 for a related pair, 0.25 for an unrelated one."""
    return 1.0 if gold in RELATED_LABELS else 0.25


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str]) -> list[list[int]]:
    """Counts with rows for gold labels and columns for predicted labels, in FNC_LABELS order."""
    position = {label: i for i, label in enumerate(FNC_LABELS)}
    matrix = [[0] * len(FNC_LABELS) for _ in FNC_LABELS]
    for truth, guess in zip(gold, predicted, strict=True):
        matrix[position[truth]][position[guess]] += 1
    return matrix


def f1_scores(matrix: list[list[int]]) -> dict[str, float]:
    """Per-class F1 from a confusion matrix (0 for a class never predicted and never present)."""
    scores: dict[str, float] = {}
    for i, label in enumerate(FNC_LABELS):
        hits = matrix[i][i]
        gold_count = sum(matrix[i])
        predicted_count = sum(row[i] for row in matrix)
        denominator = gold_count + predicted_count
        scores[label] = 2 * hits / denominator if denominator else 0.0
    return scores


def score_stances(gold: Sequence[str], predicted: Sequence[str]) -> StanceScores:
    """All scores of a prediction; labels are FNC's agree, disagree, discuss, unrelated."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    unknown = (set(gold) | set(predicted)) - set(FNC_LABELS)
    if unknown:
        raise ValueError(f"unknown label(s): {', '.join(sorted(unknown))}")
    earned = sum(fnc_points(g, p) for g, p in zip(gold, predicted, strict=True))
    best = sum(fnc_best_points(g) for g in gold)
    matrix = confusion_matrix(gold, predicted)
    f1 = f1_scores(matrix)
    count = len(gold)
    exact = sum(matrix[i][i] for i in range(len(FNC_LABELS)))
    related_right = sum(
        (g in RELATED_LABELS) == (p in RELATED_LABELS) for g, p in zip(gold, predicted, strict=True)
    )
    return StanceScores(
        fnc_score=earned,
        fnc_best=best,
        fnc_score_pct=100.0 * earned / best if best else 0.0,
        macro_f1=sum(f1.values()) / len(f1),
        f1=f1,
        confusion=matrix,
        accuracy=exact / count if count else 0.0,
        related_accuracy=related_right / count if count else 0.0,
    )
