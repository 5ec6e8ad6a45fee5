"""The two-stage stance model: relatedness (LightGBM) then agree/disagree/discuss (cross-encoder).

Stage 2 runs only on pairs that stage 1 calls related. Without `stance.onnx` it falls back to the
lexical cue words, so the model works end to end before the cross-encoder is trained.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from monitor.errors import ModelError
from monitor.match.encoder import ENCODER_FILE, SentenceEncoder
from monitor.match.features import (
    EVIDENCE_SENTENCES,
    ArticleView,
    ClaimView,
    GlobalIdf,
    article_view,
    claim_features,
    claim_view,
)
from monitor.match.lexical import count_cues, decide_stance
from monitor.match.relatedness import RELATEDNESS_FILE, RelatednessModel
from monitor.match.stance_features import (
    STANCE_FEATURES_FILE,
    StanceFeatureModel,
    blend,
    cue_rows,
    refuting_count,
)
from monitor.types import Claim, Stance, StanceLabel

IDF_FILE = "idf.json"
CALIBRATION_FILE = "calibration.json"
CARD_FILE = "card.json"
STANCE_FILE = "stance.onnx"
REQUIRED_FILES = (ENCODER_FILE, RELATEDNESS_FILE, IDF_FILE)
# News bodies state their stance early: averaging stage 2 over the closest sentences and the first
# three raised the cross-encoder's macro-F1 on dev related pairs from 0.551 to 0.571 (accuracy
# 0.801 to 0.811), and from 0.507 to 0.539 for a one-epoch model.
LEAD_VIEW_SENTENCES = 3
# Refuting words in the body ("hoax", "false", "debunked") mark a disagreeing story, and the
# cross-encoder alone misses most of them: scaling P(disagree) by 2 per such word (at most 4) raised
# its macro-F1 on dev related pairs from 0.551 to 0.568 (disagree F1 0.242 to 0.300).
REFUTING_BOOST = 2.0
REFUTING_MAX = 6
# FNC labels in stage-2 column order, and what the service calls them.
STAGE2_LABELS: tuple[StanceLabel, ...] = ("corroborates", "contradicts", "discusses")


class StanceClassifier(Protocol):
    """Stage 2: probabilities of agree, disagree, discuss for (claim, evidence text) pairs."""

    @property
    def evidence_k(self) -> int:
        """How many closest sentences make up the evidence text."""
        ...

    def predict_proba(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray: ...


class LexicalStage2:
    """Stage 2 from cue words, used until a cross-encoder is trained."""

    evidence_k = EVIDENCE_SENTENCES

    def predict_proba(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        rows = np.full((len(pairs), 3), 0.0)
        for row, (claim, evidence) in enumerate(pairs):
            label = decide_stance(count_cues([claim]), count_cues([evidence]))
            rows[row] = 0.2
            rows[row, STAGE2_LABELS.index(label)] = 0.6
        return rows


@dataclass(frozen=True, slots=True)
class Calibration:
    """Decision rule and confidence map, fitted on the topic dev split."""

    related_threshold: float = 0.5
    class_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    # Weight of the stance feature model in the geometric blend with the cross-encoder.
    feature_weight: float = 0.0
    # Per label: increasing raw scores and the share of right calls at each (isotonic fit).
    bins: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = field(default_factory=dict)

    def confidence(self, label: str, raw: float) -> float:
        """Calibrated confidence of a label given its raw score (the raw score when unfitted)."""
        if label not in self.bins:
            return float(min(max(raw, 0.0), 1.0))
        xs, ys = self.bins[label]
        return float(np.interp(raw, xs, ys))

    def as_dict(self) -> dict[str, Any]:
        return {
            "related_threshold": self.related_threshold,
            "class_weights": list(self.class_weights),
            "feature_weight": self.feature_weight,
            "bins": {label: {"x": list(x), "y": list(y)} for label, (x, y) in self.bins.items()},
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Calibration:
        weights = tuple(float(w) for w in value.get("class_weights", (1.0, 1.0, 1.0)))
        if len(weights) != 3:
            raise ModelError("calibration: class_weights must hold three numbers")
        bins = {
            str(label): (tuple(map(float, item["x"])), tuple(map(float, item["y"])))
            for label, item in value.get("bins", {}).items()
        }
        return cls(
            float(value.get("related_threshold", 0.5)),
            (weights[0], weights[1], weights[2]),
            float(value.get("feature_weight", 0.0)),
            bins,
        )


def fit_isotonic(
    raw: np.ndarray, right: np.ndarray, bins: int = 20
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Pool-adjacent-violators on quantile bins: an increasing map from raw score to precision."""
    order = np.argsort(raw, kind="stable")
    chunks = [chunk for chunk in np.array_split(order, min(bins, len(order))) if len(chunk)]
    blocks = [[float(raw[c].mean()), float(right[c].mean()), float(len(c))] for c in chunks]
    merged: list[list[float]] = []
    for block in blocks:
        merged.append(block)
        while len(merged) > 1 and merged[-2][1] > merged[-1][1]:
            last, previous = merged.pop(), merged.pop()
            weight = last[2] + previous[2]
            x = (last[0] * last[2] + previous[0] * previous[2]) / weight
            y = (last[1] * last[2] + previous[1] * previous[2]) / weight
            merged.append([x, y, weight])
    return tuple(round(b[0], 5) for b in merged), tuple(round(b[1], 5) for b in merged)


@dataclass(frozen=True, slots=True)
class PairScores:
    """Stage outputs for a batch of claims against one article."""

    related: np.ndarray  # P(related), shape (n,)
    stance: np.ndarray  # stage-2 probabilities, shape (n, 3); zero rows for unrelated pairs
    evidence: list[list[str]]  # the closest sentences (best first), then the lead sentences
    cross: np.ndarray  # the cross-encoder's part of `stance` (with the refuting prior)
    features: np.ndarray  # the stance feature model's part; zero rows when it is absent


class TwoStageModel:
    """Relatedness by LightGBM on similarity features, stance by the cross-encoder and cues."""

    def __init__(
        self,
        encoder: SentenceEncoder,
        relatedness: RelatednessModel,
        global_idf: GlobalIdf,
        stage2: StanceClassifier,
        calibration: Calibration,
        name: str,
        stance_features: StanceFeatureModel | None = None,
    ) -> None:
        self.encoder = encoder
        self.stance_features = stance_features
        self.relatedness = relatedness
        self.global_idf = global_idf
        self.stage2 = stage2
        self.calibration = calibration
        self.name = name

    def view(self, sentences: Sequence[str]) -> ArticleView:
        """Prepare an article for many claims."""
        return article_view(sentences, self.global_idf)

    def score(
        self, claims: Sequence[ClaimView], article: ArticleView, stage2_from: float | None = None
    ) -> PairScores:
        """Both stages' outputs; stage 2 runs where P(related) reaches `stage2_from`."""
        k = self.stage2.evidence_k
        rows, best = claim_features(
            claims, article, self.encoder, self.global_idf, max(k, EVIDENCE_SENTENCES)
        )
        related = self.relatedness.predict(rows)
        evidence = [[article.index.sentences[p] for p in positions[:k]] for positions in best]
        cue_best = [positions[:EVIDENCE_SENTENCES] for positions in best]
        cross = np.zeros((len(claims), 3))
        cues = np.zeros((len(claims), 3))
        floor = self.calibration.related_threshold if stage2_from is None else stage2_from
        chosen = [i for i, p in enumerate(related) if p >= floor]
        if chosen:
            cross[chosen] = self._stage2(claims, article, evidence, chosen)
            if self.stance_features is not None:
                extra = cue_rows(
                    [claims[i] for i in chosen], article, [cue_best[i] for i in chosen]
                )
                cues[chosen] = self.stance_features.predict(np.hstack([rows[chosen], extra]))
        weight = self.calibration.feature_weight if self.stance_features is not None else 0.0
        stance = blend(cross, cues, weight)
        lead = article.index.sentences[:LEAD_VIEW_SENTENCES]
        # The same sentence can be both close to the claim and in the lead: show it once.
        shown = [list(dict.fromkeys(matched + list(lead))) for matched in evidence]
        return PairScores(related, stance, shown, cross, cues)

    def _stage2(
        self,
        claims: Sequence[ClaimView],
        article: ArticleView,
        evidence: list[list[str]],
        chosen: list[int],
    ) -> np.ndarray:
        """Stage-2 probabilities averaged over two views: the closest sentences and the lead."""
        closest = self.stage2.predict_proba(
            [(claims[i].text, " ".join(evidence[i])) for i in chosen]
        )
        if LEAD_VIEW_SENTENCES == 0:
            return closest
        lead = " ".join(article.index.sentences[:LEAD_VIEW_SENTENCES])
        opening = self.stage2.predict_proba([(claims[i].text, lead) for i in chosen])
        averaged: np.ndarray = (closest + opening) / 2
        body = " ".join(article.index.sentences)
        counts = [refuting_count(claims[i].text, body) for i in chosen]
        return apply_refuting_prior(averaged, counts)

    def decide(self, related: float, stance: np.ndarray) -> tuple[StanceLabel, float]:
        """Label and calibrated confidence from P(related) and stage-2 probabilities."""
        if related < self.calibration.related_threshold:
            label: StanceLabel = "unrelated"
            raw = 1.0 - related
        else:
            weighted = stance * np.array(self.calibration.class_weights)
            column = int(np.argmax(weighted))
            label = STAGE2_LABELS[column]
            raw = related * float(stance[column])
        return label, round(self.calibration.confidence(label, raw), 4)

    def match_sentences(self, claims: Sequence[Claim], sentences: Sequence[str]) -> list[Stance]:
        """One stance per claim against an article already split into sentences."""
        views = [claim_view(claim.text) for claim in claims]
        scores = self.score(views, self.view(sentences))
        stances = []
        for i in range(len(claims)):
            label, confidence = self.decide(float(scores.related[i]), scores.stance[i])
            stances.append(Stance(label, confidence, tuple(scores.evidence[i])))
        return stances


def apply_refuting_prior(stance: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    """Scale P(disagree) by REFUTING_BOOST per refuting word, then renormalise each row."""
    factors = REFUTING_BOOST ** np.minimum(np.asarray(counts, dtype=float), REFUTING_MAX)
    boosted = stance.copy()
    boosted[:, 1] *= factors
    totals = boosted.sum(axis=1, keepdims=True)
    result: np.ndarray = np.divide(boosted, totals, out=np.zeros_like(boosted), where=totals > 0)
    return result


def read_json(path: Path) -> Any:
    """Parse a JSON artefact, naming the file on failure."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read JSON: {exc}") from exc


def has_model(model_dir: Path) -> bool:
    """Whether a folder holds the trained stage-1 files."""
    return all((model_dir / name).is_file() for name in REQUIRED_FILES)


def load_stage2(model_dir: Path) -> tuple[StanceClassifier, str]:
    """The cross-encoder when `stance.onnx` is present, else the lexical cues; and its name."""
    if (model_dir / STANCE_FILE).is_file():
        from monitor.match.crossencoder import CrossEncoderEnsemble

        return CrossEncoderEnsemble.load(model_dir), "cross-encoder"
    return LexicalStage2(), "lexical cues"


def load_two_stage(model_dir: Path) -> TwoStageModel:
    """Load every artefact of the two-stage model from a folder."""
    idf = read_json(model_dir / IDF_FILE)
    global_idf = GlobalIdf(
        int(idf["documents"]), {str(k): int(v) for k, v in idf["frequency"].items()}
    )
    calibration_path = model_dir / CALIBRATION_FILE
    calibration = (
        Calibration.from_dict(read_json(calibration_path))
        if calibration_path.is_file()
        else Calibration()
    )
    stage2, stage2_name = load_stage2(model_dir)
    features_path = model_dir / STANCE_FEATURES_FILE
    stance_features = StanceFeatureModel.load(model_dir) if features_path.is_file() else None
    card_path = model_dir / CARD_FILE
    version = read_json(card_path).get("version", "v1") if card_path.is_file() else "v1"
    name = f"fnc-two-stage {version}" + (
        "" if stage2_name == "cross-encoder" else f" ({stage2_name})"
    )
    return TwoStageModel(
        SentenceEncoder.load(model_dir),
        RelatednessModel.load(model_dir),
        global_idf,
        stage2,
        calibration,
        name,
        stance_features,
    )
