"""The pieces of `monitor train` that need no torch: decision rule, confidence map, precision."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor.errors import ModelError
from monitor.match.fnc import Pair
from monitor.match.model import Calibration
from monitor.match.stance_features import blend
from monitor.match.train import (
    choose_rule,
    fit_confidence,
    fnc_predictions,
    precision_at,
    read_reference,
    train_stage2,
)

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
    rule = choose_rule(gold, RELATED, STANCE, np.zeros_like(STANCE), (0.0,))
    assert fnc_predictions(RELATED, STANCE, rule) == gold


def test_rule_search_weighs_in_the_feature_model_where_it_helps() -> None:
    gold = ["agree", "discuss", "discuss", "agree", "unrelated"]
    # The cross-encoder gets pair 2 wrong under every class weight; the feature model does not.
    cross = STANCE.copy()
    cross[1] = [0.2, 0.79, 0.01]
    features = np.tile([0.05, 0.05, 0.9], (5, 1))
    features[[0, 3]] = [0.9, 0.05, 0.05]
    features[1] = [0.01, 0.01, 0.98]
    alone = choose_rule(gold, RELATED, cross, features, (0.0,))
    mixed = choose_rule(gold, RELATED, cross, features, (0.0, 0.5))
    assert fnc_predictions(RELATED, cross, alone)[1] != "discuss"
    assert mixed.feature_weight == 0.5
    assert fnc_predictions(RELATED, blend(cross, features, 0.5), mixed) == gold


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


def _reference(folder: Path, trained_on: str) -> Path:
    folder.mkdir()
    card = {"seed": 7, "date": "2026-01-02", "trained_on": trained_on, "dev": {"macro_f1": 0.7}}
    (folder / "card.json").write_text(json.dumps(card), encoding="utf-8")
    rule = Calibration(0.35, (1.25, 2.0, 1.0), 0.2)
    (folder / "calibration.json").write_text(json.dumps(rule.as_dict()), encoding="utf-8")
    return folder


def test_reference_model_lends_its_rule_and_dev_scores(tmp_path: Path) -> None:
    calibration, dev = read_reference(_reference(tmp_path / "topic", "train"))
    assert calibration == Calibration(0.35, (1.25, 2.0, 1.0), 0.2)
    assert dev["macro_f1"] == 0.7
    assert "seed 7" in dev["carried_from"]


def test_reference_trained_on_dev_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="trained on dev too"):
        read_reference(_reference(tmp_path / "all", "train+dev"))


def test_reference_without_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"card\.json: not found"):
        read_reference(tmp_path)


def test_stage2_members_get_their_own_files_and_stale_ones_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds: list[int] = []

    def fake_train(pairs: list[Pair], out_dir: Path, **options: Any) -> dict[str, Any]:
        seeds.append(options["seed"])
        assert all(pair.label != "unrelated" for pair in pairs)
        for name in ("stance.onnx", "stance.json", "stance_tokenizer.json"):
            (out_dir / name).write_text(f"{name} seed {options['seed']}", encoding="utf-8")
        return {"seed": options["seed"]}

    trainer = types.ModuleType("monitor.match.crossencoder_train")
    trainer.train_cross_encoder = fake_train  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "monitor.match.crossencoder_train", trainer)
    (tmp_path / "stance_3.onnx").write_text("from an older ensemble", encoding="utf-8")
    pairs = [Pair("h", 1, "b", "agree"), Pair("h", 2, "b", "unrelated")]
    result = train_stage2(pairs, [], tmp_path, seed=5, epochs=1, progress=print, members=2)
    assert seeds == [5, 6]
    assert [card["seed"] for card in result["members"]] == [5, 6]
    assert (tmp_path / "stance.onnx").read_text(encoding="utf-8") == "stance.onnx seed 5"
    assert (tmp_path / "stance_2.json").read_text(encoding="utf-8") == "stance.json seed 6"
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "stance.json",
        "stance.onnx",
        "stance_2.json",
        "stance_2.onnx",
        "stance_tokenizer.json",
    ]
