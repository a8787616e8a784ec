"""The app as uvicorn's worker processes build it: settings from the environment."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE

from .app import create_app
from .settings import get_settings

__all__ = ["STARTUP_REPORT", "app_from_environment"]

# Where a worker that cannot start writes why, for `tillpoint server` to say (server/cli.py).
STARTUP_REPORT = "TILLPOINT_STARTUP_REPORT"

log = logging.getLogger("uvicorn.error")


def app_from_environment() -> FastAPI:
    """The app; or, when it cannot be made, the reason in one line and uvicorn's startup
    failure exit code, on which uvicorn stops the server instead of starting this worker
    again and again. `tillpoint server` checks the same things before it starts any worker,
    so this is for what changed in between."""
    try:
        return create_app(get_settings())
    except Exception as exc:
        reason = _reason(exc)
        report = os.environ.get(STARTUP_REPORT)
        if report:
            Path(report).write_text(reason + "\n")
        else:
            log.error("the server cannot start: %s", reason)
        sys.exit(STARTUP_FAILURE)


def _reason(exc: Exception) -> str:
    from sqlalchemy.exc import SQLAlchemyError

    from .billing.defaults import PriceListError
    from .migrate import SchemaError
    from .sharedstate import StateUnavailableError

    if isinstance(exc, SQLAlchemyError):
        said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return (
            f"cannot open the database ({said[0] if said else type(exc).__name__}): check "
            "DATABASE_URL and that the database server is running"
        )
    if isinstance(exc, SchemaError | PriceListError | StateUnavailableError | ValueError | OSError):
        return " ".join(str(exc).split())  # their messages say what to do
    log.exception("the server cannot start")  # a fault of ours: its traceback, once
    return f"{type(exc).__name__}: {exc} (its traceback is above)"
