"""Schema migrations of the record store, with Alembic (``creditwatch archive migrate``).

The migration scripts are in ``migrations/versions/``; Alembic is configured
here in code (no ``alembic.ini``), from the database URL the caller passes.
Alembic runs on SQLAlchemy with the psycopg 3 driver; the sink and the read
API use psycopg directly.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sqlalchemy_url(url: str) -> str:
    """A libpq URL (``postgresql://…``, as psycopg takes it) for SQLAlchemy's psycopg driver.

    >>> sqlalchemy_url("postgresql://postgres:@/postgres?host=/tmp/pg")
    'postgresql+psycopg://postgres:@/postgres?host=/tmp/pg'
    >>> sqlalchemy_url("postgres://u@db:5432/creditwatch")
    'postgresql+psycopg://u@db:5432/creditwatch'
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ValueError(f"not a PostgreSQL URL: {url!r} (postgresql://user@host/database)")
    return f"postgresql+psycopg://{rest}"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Config is a ConfigParser: a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database's schema to ``revision`` (the newest by default)."""
    command.upgrade(alembic_config(url), revision)


def downgrade_to_base(url: str) -> None:
    """Drop every table the migrations made (``creditwatch archive rebuild`` starts here)."""
    command.downgrade(alembic_config(url), "base")


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()
    assert head is not None, "the migrations directory has a head"
    return head


def current_revision(url: str) -> str | None:
    """The revision the database is at (None: not migrated)."""
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
