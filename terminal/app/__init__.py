"""The cashier's and vendor's Textual app; `make_app` builds it for the CLI and the tests."""

from .app import TillpointApp, make_app

__all__ = ["TillpointApp", "make_app"]
