"""Where a scan's Optuna study lives: SQLite in the scan directory, or a database URL
(PostgreSQL) shared by several machines working on one study.

The database is reached once before anything trains, so an unreachable server or a missing
driver is one clear error, and nothing in an existing study is touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hepdl.errors import ConfigError, HepdlError

# The module SQLAlchemy imports for a database URL, and the package that provides it:
# postgresql:// means psycopg (3) for SQLAlchemy 2.1, postgresql+psycopg2:// psycopg2.
_PACKAGES = {
    "psycopg": "'psycopg[binary]'",
    "psycopg2": "psycopg2-binary",
    "pymysql": "pymysql",
    "MySQLdb": "mysqlclient",
}


def default_storage(out: Path) -> str:
    """``sqlite:///<out>/study.db`` (absolute, so workers in other folders find it)."""
    return f"sqlite:///{(out / 'study.db').resolve()}"


def shown_url(url: str) -> str:
    """The URL with its password replaced by ``***``, for messages and scan.json."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        raise ConfigError(
            f"--storage {url.split('@')[-1]!r}: not a database URL; expected e.g. "
            "postgresql://user:password@host:5432/db or sqlite:///study.db"
        ) from None


def check_reachable(url: str) -> None:
    """Connect once to ``url`` and disconnect; ConfigError without its driver, HepdlError
    when the server cannot be reached (both name the URL without the password)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    shown = shown_url(url)
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {"connect_timeout": 10} if backend == "postgresql" else {}
    try:
        engine = create_engine(url, connect_args=connect_args)
    except ImportError as err:  # SQLAlchemy imports the driver when the engine is made
        module = err.name or parsed.get_driver_name()
        package = _PACKAGES.get(module, module)
        raise ConfigError(
            f"--storage {shown}: the {backend} driver '{module}' is not installed; "
            f"install it with: pip install {package}"
        ) from None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        if parsed.password:  # never echo the password, even if the driver does
            reason = reason.replace(parsed.password, "***")
        raise HepdlError(
            f"--storage {shown}: cannot connect to the database: {reason}; check the host, "
            "port, user and that the server runs (nothing was trained, no study was changed)"
        ) from None
    finally:
        engine.dispose()


def open_storage(url: str, *, attempts: int = 5) -> Any:
    """An ``optuna.storages.RDBStorage`` on ``url``, after :func:`check_reachable`.

    Workers started together on an empty database race to create Optuna's tables and
    types; the loser's CREATE fails on a unique constraint. It tries again (``attempts``
    in all, a growing pause between them): by then the tables exist and are reused."""
    import time

    import optuna
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    check_reachable(url)
    for attempt in range(1, attempts + 1):
        try:
            return optuna.storages.RDBStorage(url)
        except (IntegrityError, ProgrammingError):
            if attempt == attempts:
                raise
            time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")  # the loop returns or raises
