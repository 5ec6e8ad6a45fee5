"""Claims, the relations and findings tying them to articles, and the digests carrying findings.

Each function works inside the session the `Store` opened, so one call is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.store.models import ArticleRow, Base, ClaimRow, DigestRow, FindingRow
from monitor.types import Claim, Finding, Stance

FINDING_STANCES = ("corroborates", "contradicts")


def _finding(row: FindingRow, article: ArticleRow, claim: ClaimRow) -> Finding:
    return Finding(
        claim_id=claim.id,
        claim_text=claim.text,
        article_url=article.link or article.url,
        headline=article.title,
        outlet=article.outlet,
        published=article.published,
        stance="contradicts" if row.stance == "contradicts" else "corroborates",
        confidence=row.confidence,
        evidence=tuple(row.evidence),
        found_at=row.found_at,
        id=row.id,
        sent_at=row.sent_at,
    )


def sync_claims(session: Session, claims: Sequence[Claim]) -> None:
    """Make the active claims exactly these; claims no longer listed are kept, inactive."""
    wanted = {claim.id: claim for claim in claims}
    for row in session.scalars(select(ClaimRow)):
        row.active = row.id in wanted
        claim = wanted.pop(row.id, None)
        if claim is not None:
            row.text, row.source = claim.text, claim.source
    for claim in wanted.values():
        session.add(ClaimRow(id=claim.id, text=claim.text, source=claim.source, active=True))


def active_claims(session: Session) -> list[Claim]:
    """The active claims, by id."""
    rows = session.scalars(select(ClaimRow).where(ClaimRow.active).order_by(ClaimRow.id))
    return [Claim(row.id, row.text, row.source) for row in rows]


def record_stance(
    session: Session,
    claim: Claim,
    article_id: int,
    stance: Stance,
    threshold: float,
    now: datetime,
) -> Finding | None:
    """Keep a related stance; return the new Finding when it is one, None if already known."""
    if session.get(ClaimRow, claim.id) is None:
        session.add(ClaimRow(id=claim.id, text=claim.text, source=claim.source, active=True))
        session.flush()
    values: dict[str, Any] = {
        "claim_id": claim.id,
        "article_id": article_id,
        "stance": stance.label,
        "confidence": stance.confidence,
        "evidence": list(stance.evidence),
    }
    _insert_once(session, "relations", {**values, "created_at": now})
    if stance.label not in FINDING_STANCES or stance.confidence < threshold:
        return None
    finding_id = _insert_once(session, "findings", {**values, "found_at": now})
    if finding_id is None:
        return None
    return _finding(
        session.get_one(FindingRow, finding_id),
        session.get_one(ArticleRow, article_id),
        session.get_one(ClaimRow, claim.id),
    )


def _insert_once(session: Session, table_name: str, values: dict[str, Any]) -> int | None:
    """Insert a (claim, article) row unless one exists; the new id, or None when it was there."""
    table = Base.metadata.tables[table_name]
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        module: Any = sqlite if dialect == "sqlite" else postgresql
        statement = (
            module.insert(table)
            .values(values)
            .on_conflict_do_nothing(index_elements=["claim_id", "article_id"])
            .returning(table.c.id)
        )
        new_id = session.scalar(statement)
    else:
        try:
            with session.begin_nested():
                new_id = session.scalar(insert(table).values(values).returning(table.c.id))
        except IntegrityError:
            new_id = None
    return None if new_id is None else int(new_id)


def _findings_query() -> Any:
    return (
        select(FindingRow, ArticleRow, ClaimRow)
        .join(ArticleRow, ArticleRow.id == FindingRow.article_id)
        .join(ClaimRow, ClaimRow.id == FindingRow.claim_id)
        .order_by(FindingRow.found_at, FindingRow.id)
    )


def load_findings(
    session: Session, claim_id: str | None = None, since: datetime | None = None
) -> list[Finding]:
    """Findings, oldest first, optionally of one claim or found since a time."""
    statement = _findings_query()
    if claim_id is not None:
        statement = statement.where(FindingRow.claim_id == claim_id)
    if since is not None:
        statement = statement.where(FindingRow.found_at >= since)
    return [_finding(*row) for row in session.execute(statement)]


def unsent_findings(session: Session) -> list[Finding]:
    """Every finding no digest has carried yet, however old."""
    statement = _findings_query().where(FindingRow.sent_at.is_(None))
    return [_finding(*row) for row in session.execute(statement)]


def start_digest(
    session: Session, finding_ids: Sequence[int], now: datetime, recipients: Sequence[str]
) -> int:
    """Open a digest record before sending; returns its id."""
    row = DigestRow(
        created_at=now,
        recipients=", ".join(recipients),
        finding_count=len(finding_ids),
        status="sending",
    )
    session.add(row)
    session.flush()
    return row.id


def mark_digest_sent(
    session: Session, digest_id: int, finding_ids: Sequence[int], now: datetime
) -> int:
    """After the server accepted the digest: mark its findings sent; returns how many."""
    result = session.execute(
        update(FindingRow)
        .where(FindingRow.id.in_(list(finding_ids)), FindingRow.sent_at.is_(None))
        .values(sent_at=now, digest_id=digest_id)
    )
    digest = session.get_one(DigestRow, digest_id)
    digest.status, digest.sent_at, digest.error = "sent", now, None
    return int(getattr(result, "rowcount", 0))


def mark_digest_failed(session: Session, digest_id: int, error: str) -> None:
    """Record why a digest was not delivered; its findings stay unsent."""
    digest = session.get_one(DigestRow, digest_id)
    digest.status, digest.error = "failed", error
