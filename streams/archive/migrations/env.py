"""Alembic's environment for the record store: online migrations only.

``streams.archive.migrate`` builds the configuration (script location and the
database URL) in code; there is no ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool


def run_migrations_online() -> None:
    config = context.config
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the record store's migrations run online only (creditwatch archive migrate)")
run_migrations_online()
