"""`evaluate_stance` on small FNC-format files: the figures and their JSON view."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.match.evaluate import evaluate_stance, evaluation_as_dict, format_evaluation

BODIES = (
    "Body ID,articleBody\n"
    '1,"A sinkhole swallowed a car park in Leeds on Monday, the council confirmed.\n'
    'Engineers said the hole was twenty metres wide."\n'
    '2,"The orchestra opened its season with Mahler. Critics praised the violins."\n'
)
STANCES = (
    "Headline,Body ID,Stance\n"
    "Sinkhole swallows Leeds car park on Monday,1,agree\n"
    "Sinkhole swallows Leeds car park on Monday,2,unrelated\n"
    "Orchestra opens season with Mahler symphony,2,discuss\n"
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    stances = tmp_path / "stances.csv"
    bodies = tmp_path / "bodies.csv"
    stances.write_text(STANCES, encoding="utf-8")
    bodies.write_text(BODIES, encoding="utf-8")
    return stances, bodies


def test_lexical_model_scores_the_hand_written_pairs(files: tuple[Path, Path]) -> None:
    evaluation = evaluate_stance(*files, lexical=True)
    # Predicted: agree (right), unrelated (right), agree for a discuss pair (related, wrong label):
    # 1 + 0.25 + 0.25 of 1 + 0.25 + 1.
    assert evaluation.pairs == 3
    assert evaluation.confusion[0][0] == 1
    assert evaluation.confusion[3][3] == 1
    assert evaluation.fnc_score_pct == pytest.approx(100 * 1.5 / 2.25)
    assert evaluation.related_accuracy == 1.0


def test_json_view_has_the_documented_keys(files: tuple[Path, Path]) -> None:
    view = evaluation_as_dict(evaluate_stance(*files, lexical=True))
    assert {"fnc_score_pct", "macro_f1", "f1", "confusion", "pairs", "pairs_per_second"} <= set(
        view
    )
    assert set(view["f1"]) == {"agree", "disagree", "discuss", "unrelated"}
    assert view["pairs"] == 3
    assert json.loads(json.dumps(view)) == view


def test_text_report_names_score_and_matrix(files: tuple[Path, Path]) -> None:
    text = format_evaluation(evaluate_stance(*files, lexical=True))
    assert "FNC score: 66.67%" in text
    assert "confusion (rows gold, columns predicted):" in text
    assert "pairs/s" in text
