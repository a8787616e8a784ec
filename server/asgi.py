"""The app as uvicorn's worker processes build it: settings from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from .app import create_app
from .settings import get_settings


def app_from_environment() -> FastAPI:
    return create_app(get_settings())
