"""The shipped stance cross-encoder: loading, probabilities, truncation and bad model folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from monitor.errors import ModelError
from monitor.match.crossencoder import (
    CARD_FILE,
    LABELS,
    MODEL_DIR,
    ONNX_FILE,
    TOKENIZER_FILE,
    CrossEncoder,
    CrossEncoderEnsemble,
    member_files,
    tokenize_pairs,
)

CLAIM = "Giant spider burrowed under a tourist's skin during a holiday in Bali"
AGREEING = (
    "A giant spider burrowed under a tourist's skin while he was on holiday in Bali, doctors "
    "confirmed. The man was treated in hospital after the spider was removed."
)
DISAGREEING = (
    "Doctors say the story of a spider burrowing under a tourist's skin in Bali is a hoax. "
    "The claims are fake and the photos that spread online were doctored."
)


@pytest.fixture(scope="module")
def encoder() -> CrossEncoder:
    return CrossEncoder.load(MODEL_DIR)


def _copy_model(target: Path) -> Path:
    target.mkdir()
    for name in (ONNX_FILE, TOKENIZER_FILE, CARD_FILE):
        shutil.copy(MODEL_DIR / name, target / name)
    return target


def test_probabilities_have_one_row_per_pair_and_sum_to_one(encoder: CrossEncoder) -> None:
    pairs = [(CLAIM, AGREEING), (CLAIM, DISAGREEING), (CLAIM, "Weather was mild.")]
    probabilities = encoder.predict_proba(pairs, batch_size=2)
    assert probabilities.shape == (3, len(LABELS))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (probabilities >= 0).all()


def test_rows_follow_input_order_across_batches(encoder: CrossEncoder) -> None:
    pairs = [(CLAIM, DISAGREEING + " " + AGREEING * 3), (CLAIM, AGREEING)]
    together = encoder.predict_proba(pairs, batch_size=1)
    alone = encoder.predict_proba([pairs[1]])
    assert np.allclose(together[1], alone[0], atol=1e-5)


def test_agreeing_and_disagreeing_evidence_get_different_labels(encoder: CrossEncoder) -> None:
    probabilities = encoder.predict_proba([(CLAIM, AGREEING), (CLAIM, DISAGREEING)])
    labels = [LABELS[index] for index in probabilities.argmax(axis=1)]
    assert labels[0] != labels[1]
    assert probabilities[1, LABELS.index("disagree")] > probabilities[0, LABELS.index("disagree")]


def test_empty_input_gives_empty_array(encoder: CrossEncoder) -> None:
    assert encoder.predict_proba([]).shape == (0, len(LABELS))


def test_huge_evidence_is_truncated_to_max_length(encoder: CrossEncoder) -> None:
    evidence = "word " * 200_000
    encodings = tokenize_pairs(encoder.tokenizer, [(CLAIM, evidence)], encoder.max_length)
    assert len(encodings[0].ids) == encoder.max_length
    probabilities = encoder.predict_proba([(CLAIM, evidence)])
    assert probabilities.shape == (1, len(LABELS))
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_truncation_keeps_the_whole_claim(encoder: CrossEncoder) -> None:
    encodings = tokenize_pairs(encoder.tokenizer, [(CLAIM, "evidence " * 5000)], encoder.max_length)
    claim_alone = tokenize_pairs(encoder.tokenizer, [(CLAIM, "")], encoder.max_length)[0]
    first_part = [
        t for t, kind in zip(encodings[0].ids, encodings[0].type_ids, strict=True) if not kind
    ]
    assert first_part == [
        t for t, kind in zip(claim_alone.ids, claim_alone.type_ids, strict=True) if not kind
    ]


def test_missing_model_dir_raises_model_error_naming_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-model-here"
    with pytest.raises(ModelError, match="no-model-here"):
        CrossEncoder.load(missing)


def test_corrupt_onnx_file_raises_model_error(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path / "model")
    (folder / ONNX_FILE).write_bytes(b"not an onnx model")
    with pytest.raises(ModelError, match=ONNX_FILE):
        CrossEncoder.load(folder)


def test_card_with_other_labels_raises_model_error(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path / "model")
    card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    card["labels"] = ["discuss", "agree", "disagree"]
    (folder / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="labels"):
        CrossEncoder.load(folder)


def test_card_records_base_model_licence_and_training_pairs() -> None:
    card = json.loads((MODEL_DIR / CARD_FILE).read_text(encoding="utf-8"))
    assert card["base_model_licence"] == "Apache-2.0"
    assert card["train_pairs"] > 10_000
    assert card["labels"] == list(LABELS)


def test_ensemble_averages_its_members(tmp_path: Path, encoder: CrossEncoder) -> None:
    folder = _copy_model(tmp_path / "model")
    onnx_file, card_file = member_files(2)
    shutil.copy(folder / ONNX_FILE, folder / onnx_file)
    shutil.copy(folder / CARD_FILE, folder / card_file)
    shutil.copy(folder / ONNX_FILE, folder / member_files(4)[0])  # not loaded: no member 3
    ensemble = CrossEncoderEnsemble.load(folder)
    assert len(ensemble.members) == 2
    pairs = [(CLAIM, AGREEING), (CLAIM, DISAGREEING)]
    assert np.allclose(ensemble.predict_proba(pairs), encoder.predict_proba(pairs), atol=1e-6)


def test_broken_ensemble_member_raises_model_error_naming_it(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path / "model")
    onnx_file, card_file = member_files(2)
    (folder / onnx_file).write_bytes(b"not an onnx model")
    with pytest.raises(ModelError, match=r"stance_2\.json: model file missing"):
        CrossEncoderEnsemble.load(folder)
    shutil.copy(folder / CARD_FILE, folder / card_file)
    with pytest.raises(ModelError, match=r"stance_2\.onnx: cannot load ONNX model"):
        CrossEncoderEnsemble.load(folder)


def test_card_evidence_k_defaults_to_three_and_is_checked(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path / "model")
    card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    del card["evidence_k"]
    (folder / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    assert CrossEncoder.load(folder).evidence_k == 3
    card["evidence_k"] = 0
    (folder / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="evidence_k"):
        CrossEncoder.load(folder)


def test_ensemble_members_must_read_the_same_evidence(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path / "model")
    onnx_file, card_file = member_files(2)
    shutil.copy(folder / ONNX_FILE, folder / onnx_file)
    card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    card["evidence_k"] = card.get("evidence_k", 3) + 1
    (folder / card_file).write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="different evidence_k"):
        CrossEncoderEnsemble.load(folder)
