"""The tables: notes, what the worker, the ticker and the scheduled job did, and the record
every migration leaves of its own run."""

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


class JobResult(db.Model):  # type: ignore[name-defined,misc]
    """A queued job's result, written by whichever host's worker took it."""

    __tablename__ = "job_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(db.String(64), index=True)
    enqueued_by: Mapped[str] = mapped_column(db.String(255))
    worked_by: Mapped[str] = mapped_column(db.String(255))
    release: Mapped[str] = mapped_column(db.String(64))
    started: Mapped[datetime] = mapped_column(db.DateTime(timezone=True))
    finished: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=_now)


class _Beat:
    """A row that says which host and release did something, and when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(db.String(255))
    release: Mapped[str] = mapped_column(db.String(64))
    at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=_now)


class Heartbeat(_Beat, db.Model):  # type: ignore[name-defined,misc]
    """The singleton ticker's beats: one host must run it, never two."""

    __tablename__ = "heartbeats"


class ScheduledRun(_Beat, db.Model):  # type: ignore[name-defined,misc]
    """One row per run of the scheduled job: a fleet must fire it once per minute."""

    __tablename__ = "scheduled_runs"
