"""Column helpers shared by the models."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

#: 64-bit ids on PostgreSQL; SQLite needs INTEGER PRIMARY KEY for its rowid alias.
BigId = BigInteger().with_variant(Integer, "sqlite")


def id_column() -> Mapped[int]:
    return mapped_column(BigId, primary_key=True, autoincrement=True)


def corp_fk() -> Mapped[int]:
    """Every tenant-owned row carries ``corp_id`` (architecture principle 7)."""
    return mapped_column(BigId, ForeignKey("corp.id", ondelete="CASCADE"), index=True)
