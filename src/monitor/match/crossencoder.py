"""Stage 2 of the stance model: a fine-tuned MiniLM cross-encoder, run with onnxruntime.

Input is (claim, evidence text), the evidence being the article sentences closest to the claim
(`retrieval.evidence_text`); output is the probability of agree / disagree / discuss. Training
lives in `crossencoder_train.py` (torch, the optional `train` extra); this module needs no torch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from monitor.errors import ModelError

MODEL_DIR = Path(__file__).resolve().parent / "model"
ONNX_FILE = "stance.onnx"
TOKENIZER_FILE = "stance_tokenizer.json"
CARD_FILE = "stance.json"
# Further members of an ensemble, trained the same way from other seeds: stance_2.onnx, ...
MAX_MEMBERS = 4
# Closest sentences per claim a card without `evidence_k` was trained on.
DEFAULT_EVIDENCE_K = 3
LABELS: tuple[str, ...] = ("agree", "disagree", "discuss")
INPUT_NAMES: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")
# Each text is cut at this many characters per token of max_length before tokenizing: far more than
# truncation keeps, so the encoding is the same, but a 200,000-word article stays cheap to tokenize.
CHARS_PER_TOKEN = 24


def load_tokenizer(path: Path, max_length: int) -> Tokenizer:
    """Read a tokenizers-format file and set pair truncation (longest side first) and padding."""
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # the tokenizers library raises a bare Exception on bad files
        raise ModelError(f"{path}: cannot read tokenizer: {exc}") from exc
    # Longest-first trims the evidence before the (short) claim, so the claim survives whole.
    tokenizer.enable_truncation(max_length, strategy="longest_first")
    tokenizer.no_padding()
    return tokenizer


def _cut(text: str, max_length: int) -> str:
    return text[: max_length * CHARS_PER_TOKEN]


def tokenize_pairs(
    tokenizer: Tokenizer, pairs: Sequence[tuple[str, str]], max_length: int
) -> list[Encoding]:
    """Encode (claim, evidence) pairs as [CLS] claim [SEP] evidence [SEP], truncated, unpadded."""
    cut = [(_cut(claim, max_length), _cut(evidence, max_length)) for claim, evidence in pairs]
    return list(tokenizer.encode_batch(cut))


def pad_encodings(encodings: Sequence[Encoding]) -> dict[str, np.ndarray]:
    """Stack encodings into int64 arrays padded to the longest one (pad id 0, mask 0)."""
    width = max((len(encoding.ids) for encoding in encodings), default=1)
    shape = (len(encodings), width)
    arrays = {name: np.zeros(shape, dtype=np.int64) for name in INPUT_NAMES}
    for row, encoding in enumerate(encodings):
        size = len(encoding.ids)
        arrays["input_ids"][row, :size] = encoding.ids
        arrays["attention_mask"][row, :size] = encoding.attention_mask
        arrays["token_type_ids"][row, :size] = encoding.type_ids
    return arrays


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return result


def member_files(member: int) -> tuple[str, str]:
    """The ONNX and card file names of an ensemble member (1 is `stance.onnx`/`stance.json`)."""
    if member == 1:
        return ONNX_FILE, CARD_FILE
    return f"stance_{member}.onnx", f"stance_{member}.json"


def _read_card(path: Path) -> dict[str, Any]:
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model card: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: model card is not valid JSON: {exc}") from exc
    if not isinstance(card, dict):
        raise ModelError(f"{path}: model card is not a JSON object")
    if tuple(card.get("labels", ())) != LABELS:
        raise ModelError(f"{path}: labels must be {list(LABELS)}, found {card.get('labels')!r}")
    max_length = card.get("max_length")
    if not isinstance(max_length, int) or not 8 <= max_length <= 512:
        raise ModelError(f"{path}: max_length must be an integer in 8..512, found {max_length!r}")
    evidence_k = card.setdefault("evidence_k", DEFAULT_EVIDENCE_K)
    if not isinstance(evidence_k, int) or not 1 <= evidence_k <= 10:
        raise ModelError(f"{path}: evidence_k must be an integer in 1..10, found {evidence_k!r}")
    return card


def _open_session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own unexported error classes
        raise ModelError(f"{path}: cannot load ONNX model: {exc}") from exc
    names = {item.name for item in session.get_inputs()}
    if names != set(INPUT_NAMES):
        raise ModelError(f"{path}: model inputs are {sorted(names)}, expected {list(INPUT_NAMES)}")
    return session


@dataclass(frozen=True, slots=True)
class CrossEncoder:
    """The loaded stance cross-encoder: tokenizer, ONNX session and its model card."""

    session: ort.InferenceSession
    tokenizer: Tokenizer
    max_length: int
    card: dict[str, Any] = field(repr=False)

    @classmethod
    def load(cls, model_dir: Path = MODEL_DIR, threads: int = 0, member: int = 1) -> CrossEncoder:
        """Load `stance.onnx`, `stance_tokenizer.json` and `stance.json` (or a member's files)."""
        onnx_file, card_file = member_files(member)
        for name in (onnx_file, TOKENIZER_FILE, card_file):
            if not (model_dir / name).is_file():
                raise ModelError(f"{model_dir / name}: model file missing")
        card = _read_card(model_dir / card_file)
        max_length = int(card["max_length"])
        tokenizer = load_tokenizer(model_dir / TOKENIZER_FILE, max_length)
        session = _open_session(model_dir / onnx_file, threads)
        return cls(session, tokenizer, max_length, card)

    @property
    def labels(self) -> tuple[str, ...]:
        return LABELS

    @property
    def evidence_k(self) -> int:
        """How many closest sentences the model was trained to read."""
        return int(self.card["evidence_k"])

    def predict_proba(self, pairs: Sequence[tuple[str, str]], batch_size: int = 16) -> np.ndarray:
        """Probabilities (n, 3) over agree / disagree / discuss for (claim, evidence) pairs."""
        result = np.zeros((len(pairs), len(LABELS)), dtype=np.float32)
        # Batches of similar length waste little on padding; memory stays one batch at a time.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        for start in range(0, len(order), max(batch_size, 1)):
            chunk = order[start : start + max(batch_size, 1)]
            encodings = tokenize_pairs(self.tokenizer, [pairs[i] for i in chunk], self.max_length)
            logits = self.session.run(["logits"], pad_encodings(encodings))[0]
            result[chunk] = softmax(np.asarray(logits, dtype=np.float32))
        return result


@dataclass(frozen=True, slots=True)
class CrossEncoderEnsemble:
    """Cross-encoders of one recipe from different seeds; their probabilities are averaged."""

    members: tuple[CrossEncoder, ...]

    @classmethod
    def load(cls, model_dir: Path = MODEL_DIR, threads: int = 0) -> CrossEncoderEnsemble:
        """Load `stance.onnx` and every further member present (`stance_2.onnx`, ...)."""
        members = [CrossEncoder.load(model_dir, threads)]
        for member in range(2, MAX_MEMBERS + 1):
            if not (model_dir / member_files(member)[0]).is_file():
                break
            members.append(CrossEncoder.load(model_dir, threads, member))
        if len({member.evidence_k for member in members}) > 1:
            raise ModelError(f"{model_dir}: the cross-encoder members read different evidence_k")
        return cls(tuple(members))

    @property
    def evidence_k(self) -> int:
        """How many closest sentences the members were trained to read."""
        return self.members[0].evidence_k

    def predict_proba(self, pairs: Sequence[tuple[str, str]], batch_size: int = 16) -> np.ndarray:
        """The members' mean probabilities (n, 3) over agree / disagree / discuss."""
        total = np.zeros((len(pairs), len(LABELS)), dtype=np.float32)
        for member in self.members:
            total += member.predict_proba(pairs, batch_size)
        result: np.ndarray = total / len(self.members)
        return result
