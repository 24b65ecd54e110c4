"""The tables: notes, and the record every migration leaves of its own run."""

from __future__ import annotations

from datetime import datetime, timezone

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()
migrate = Migrate()


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Note(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(db.String(500))
    # Which app host and release wrote it: the page shows that every host sees every note.
    host: Mapped[str] = mapped_column(db.String(255))
    release: Mapped[str] = mapped_column(db.String(64))
    created: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=_now)


class MigrationRun(db.Model):  # type: ignore[name-defined,misc]
    """One row per migration run: proof that a rollout migrated once, and when."""

    __tablename__ = "migration_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[str] = mapped_column(db.String(32))
    ran_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True))
