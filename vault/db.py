"""Database engine and schema versioning (Alembic), for SQLite by default or any SQLAlchemy URL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from vault.errors import NewerFormat, NotAVault, StorageError

SCHEMA_HEAD = "0004"  # the newest migration in vault/migrations/versions
_MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def shown_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "(unparseable URL)"


def has_password(url: str) -> bool:
    try:
        return make_url(url).password is not None
    except (SQLAlchemyError, ValueError):
        return False


def make_engine(url: str) -> Engine:
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise NotAVault(
            f"cannot use the database URL {shown_url(url)}: {exc.__class__.__name__}",
            "check --db / VAULT_DB (and that its driver is installed)",
        ) from exc
    if engine.dialect.name == "sqlite":
        _make_sqlite_serialisable(engine)
    return engine


def _make_sqlite_serialisable(engine: Engine) -> None:
    """Every transaction takes the write lock up front (BEGIN IMMEDIATE).

    The audit log's next sequence number and Merkle frontier are read and written in
    one transaction; two concurrent `vault` processes must not both read the same head.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # let us issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # an audit entry that was reported is on disk
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def create_schema(engine: Engine) -> None:
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        raise NotAVault(
            f"cannot read the vault database: {exc.__class__.__name__}",
            "check --db / VAULT_DB and the file",
        ) from exc


def ensure_schema_current(engine: Engine) -> None:
    """Refuse a newer schema; migrate an older one forward; fast when already current."""
    revision = current_revision(engine)
    if revision == SCHEMA_HEAD:
        return
    if revision is None:
        raise NotAVault(
            "the vault database has no schema", "point --db / VAULT_DB at the vault's database"
        )
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    with engine.begin() as connection:
        config = _alembic_config(connection)
        try:
            ScriptDirectory.from_config(config).get_revision(revision)
        except CommandError as exc:
            raise NewerFormat(
                f"the vault database has schema revision {revision!r}, unknown to this tool",
                "it was written by a newer version of vault: upgrade the tool",
            ) from exc
        try:
            command.upgrade(config, "head")
        except SQLAlchemyError as exc:
            raise StorageError(
                f"migrating the vault database failed: {exc}", "restore a backup"
            ) from exc
