"""The fmops database: SQLAlchemy engines and Alembic migrations for everything fmops keeps in tables
(experiments, the model registry and prompt catalog, pipeline runs, gateway tenants and ledger).

SQLite under FMOPS_HOME by default; PostgreSQL when the URL says so (`postgresql://user@host/db?schema=NAME`
keeps fmops's tables in their own schema, created on first use). Each component owns a branch of the
migration history (`migrations/versions/<component>/`, first revision labelled with the component's name),
so components add tables without touching each other's revisions; `open_database` upgrades every branch
to its head before handing out the engine.
"""

from fmops.store._database import (
    Base,
    database_url,
    open_database,
    session_scope,
)

__all__ = ["Base", "database_url", "open_database", "session_scope"]
