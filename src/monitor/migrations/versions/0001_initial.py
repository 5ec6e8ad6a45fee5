"""Create the tables: feeds, articles and their sources, claims, relations, findings, digests.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _when(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _feeds() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False, unique=True),
        sa.Column("source_url", sa.String(2048), nullable=False, unique=True),
        sa.Column("title", sa.Text()),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text()),
        sa.Column("interval_minutes", sa.Integer()),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        _when("last_polled"),
        sa.Column("last_status", sa.Integer()),
        _when("last_success"),
        sa.Column("error_count", sa.Integer(), nullable=False),
        _when("first_error_at"),
        sa.Column("last_error", sa.Text()),
        _when("next_poll"),
        sa.Column("bozo", sa.Boolean(), nullable=False),
        sa.Column("bozo_reason", sa.Text()),
        _when("created_at", nullable=False),
    )


def _articles() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False, unique=True),
        sa.Column("link", sa.String(2048)),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("text", sa.Text()),
        sa.Column("outlet", sa.Text()),
        _when("published"),
        sa.Column("text_source", sa.String(8)),
        sa.Column("language", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text()),
        sa.Column("content_hash", sa.String(128), nullable=False),
        _when("first_seen", nullable=False),
        _when("processed_at"),
    )
    op.create_index("ix_articles_status", "articles", ["status"])
    op.create_table(
        "article_sources",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("feed_url", sa.String(2048), nullable=False),
        sa.Column("entry_id", sa.String(2048), nullable=False),
        _when("first_seen", nullable=False),
        sa.UniqueConstraint("feed_url", "entry_id"),
    )
    op.create_index("ix_article_sources_article_id", "article_sources", ["article_id"])


def _stance_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "claim_id",
            sa.String(64),
            sa.ForeignKey("claims.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("stance", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
    ]


def _claims_and_findings() -> None:
    op.create_table(
        "claims",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "relations",
        *_stance_columns(),
        _when("created_at", nullable=False),
        sa.UniqueConstraint("claim_id", "article_id"),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), primary_key=True),
        _when("created_at", nullable=False),
        _when("sent_at"),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("finding_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text()),
    )
    op.create_table(
        "findings",
        *_stance_columns(),
        _when("found_at", nullable=False),
        _when("sent_at"),
        sa.Column("digest_id", sa.Integer(), sa.ForeignKey("digests.id")),
        sa.UniqueConstraint("claim_id", "article_id"),
    )
    op.create_index("ix_findings_sent_at", "findings", ["sent_at"])


def upgrade() -> None:
    _feeds()
    _articles()
    _claims_and_findings()


def downgrade() -> None:
    for table in ("findings", "digests", "relations", "claims", "article_sources", "articles"):
        op.drop_table(table)
    op.drop_table("feeds")
