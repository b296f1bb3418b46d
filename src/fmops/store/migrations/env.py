"""Alembic environment: fmops always runs migrations on a connection it opened (`fmops.store`)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
