"""`monitor eval stance`: score a matcher on any FNC-format pair of files."""

from __future__ import annotations

import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.match import Matcher, load_matcher
from monitor.match.fnc import FNC_LABELS, Pair, read_pairs
from monitor.match.scoring import score_stances
from monitor.types import Claim

FNC_OF_STANCE = {
    "corroborates": "agree",
    "contradicts": "disagree",
    "discusses": "discuss",
    "unrelated": "unrelated",
}


@dataclass(frozen=True, slots=True)
class StanceEvaluation:
    """Scores and cost of one matcher on one set of labelled pairs."""

    model: str
    fnc_score_pct: float
    macro_f1: float
    f1: dict[str, float]
    confusion: list[list[int]]  # rows gold, columns predicted, in FNC_LABELS order
    accuracy: float
    related_accuracy: float
    pairs: int
    seconds: float
    pairs_per_second: float
    peak_memory_mb: float


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is KiB on Linux, bytes on macOS.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def predict_pairs(
    matcher: Matcher, pairs: list[Pair], progress: Callable[[str], None] | None = None
) -> list[str]:
    """FNC labels for pairs, matching each body once against all its headlines."""
    groups: dict[int, list[int]] = defaultdict(list)
    for position, pair in enumerate(pairs):
        groups[pair.body_id].append(position)
    predicted = ["unrelated"] * len(pairs)
    for done, positions in enumerate(groups.values(), start=1):
        claims = [Claim(f"pair-{p}", pairs[p].headline, "fnc") for p in positions]
        stances = matcher.match(claims, pairs[positions[0]].body)
        for position, stance in zip(positions, stances, strict=True):
            predicted[position] = FNC_OF_STANCE[stance.label]
        if progress and (done % 100 == 0 or done == len(groups)):
            progress(f"eval: {done}/{len(groups)} bodies")
    return predicted


def evaluate_stance(
    stances_csv: Path,
    bodies_csv: Path,
    model_dir: Path | None = None,
    *,
    lexical: bool = False,
    progress: Callable[[str], None] | None = None,
) -> StanceEvaluation:
    """Run the matcher over every pair of the files and score it with FNC-1's metrics."""
    pairs = read_pairs(stances_csv, bodies_csv)
    matcher = load_matcher(model_dir, lexical=lexical)
    started = time.perf_counter()
    predicted = predict_pairs(matcher, pairs, progress)
    seconds = time.perf_counter() - started
    scores = score_stances([pair.label for pair in pairs], predicted)
    return StanceEvaluation(
        model=matcher.name,
        fnc_score_pct=scores.fnc_score_pct,
        macro_f1=scores.macro_f1,
        f1=scores.f1,
        confusion=scores.confusion,
        accuracy=scores.accuracy,
        related_accuracy=scores.related_accuracy,
        pairs=len(pairs),
        seconds=seconds,
        pairs_per_second=len(pairs) / seconds if seconds > 0 else 0.0,
        peak_memory_mb=peak_memory_mb(),
    )


def evaluation_as_dict(evaluation: StanceEvaluation) -> dict[str, Any]:
    """The JSON view: fnc_score_pct, macro_f1, f1, confusion, pairs, pairs_per_second, ..."""
    return {
        "model": evaluation.model,
        "fnc_score_pct": round(evaluation.fnc_score_pct, 2),
        "macro_f1": round(evaluation.macro_f1, 4),
        "f1": {label: round(value, 4) for label, value in evaluation.f1.items()},
        "confusion": {
            "labels": list(FNC_LABELS),
            "rows_gold_columns_predicted": evaluation.confusion,
        },
        "accuracy": round(evaluation.accuracy, 4),
        "related_accuracy": round(evaluation.related_accuracy, 4),
        "pairs": evaluation.pairs,
        "seconds": round(evaluation.seconds, 2),
        "pairs_per_second": round(evaluation.pairs_per_second, 1),
        "peak_memory_mb": round(evaluation.peak_memory_mb, 1),
    }


def format_evaluation(evaluation: StanceEvaluation) -> str:
    """A human-readable report: scores, per-class F1 and the confusion matrix."""
    width = max(len(label) for label in FNC_LABELS) + 2
    lines = [
        f"model: {evaluation.model}",
        f"pairs: {evaluation.pairs}",
        f"FNC score: {evaluation.fnc_score_pct:.2f}%",
        f"macro-F1: {evaluation.macro_f1:.4f}",
        f"related/unrelated accuracy: {evaluation.related_accuracy:.4f}",
        "F1: " + "  ".join(f"{label} {evaluation.f1[label]:.4f}" for label in FNC_LABELS),
        "confusion (rows gold, columns predicted):",
        " " * width + "".join(label.rjust(width) for label in FNC_LABELS),
    ]
    for label, row in zip(FNC_LABELS, evaluation.confusion, strict=True):
        lines.append(label.ljust(width) + "".join(str(n).rjust(width) for n in row))
    lines.append(
        f"speed: {evaluation.pairs_per_second:.1f} pairs/s ({evaluation.seconds:.1f} s); "
        f"peak memory: {evaluation.peak_memory_mb:.0f} MiB"
    )
    return "\n".join(lines)
