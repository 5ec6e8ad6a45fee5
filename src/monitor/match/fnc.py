"""Reading FNC-1 files: stances (Headline, Body ID, Stance), bodies (Body ID, articleBody)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import ModelError

FNC_LABELS: tuple[str, ...] = ("agree", "disagree", "discuss", "unrelated")
RELATED_LABELS: tuple[str, ...] = ("agree", "disagree", "discuss")


@dataclass(frozen=True, slots=True)
class Pair:
    """One labelled (headline, body) pair."""

    headline: str
    body_id: int
    body: str
    label: str


def _rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in columns if name not in (reader.fieldnames or [])]
            if missing:
                raise ModelError(f"{path}: missing column(s) {', '.join(missing)}")
            return list(reader)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ModelError(f"{path}: not a readable UTF-8 CSV file: {exc}") from exc


def read_bodies(bodies_csv: Path) -> dict[int, str]:
    """Map Body ID to article body."""
    bodies: dict[int, str] = {}
    for line, row in enumerate(_rows(bodies_csv, ("Body ID", "articleBody")), start=2):
        try:
            bodies[int(row["Body ID"])] = row["articleBody"]
        except ValueError as exc:
            raise ModelError(f"{bodies_csv}:{line}: Body ID is not a number") from exc
    return bodies


def read_pairs(stances_csv: Path, bodies_csv: Path) -> list[Pair]:
    """Read labelled pairs, joining each stance row with its body."""
    bodies = read_bodies(bodies_csv)
    pairs: list[Pair] = []
    for line, row in enumerate(_rows(stances_csv, ("Headline", "Body ID", "Stance")), start=2):
        label = row["Stance"].strip().lower()
        if label not in FNC_LABELS:
            raise ModelError(f"{stances_csv}:{line}: unknown stance {row['Stance']!r}")
        try:
            body_id = int(row["Body ID"])
        except ValueError as exc:
            raise ModelError(f"{stances_csv}:{line}: Body ID is not a number") from exc
        if body_id not in bodies:
            raise ModelError(f"{stances_csv}:{line}: Body ID {body_id} not in {bodies_csv}")
        pairs.append(Pair(row["Headline"], body_id, bodies[body_id], label))
    return pairs
