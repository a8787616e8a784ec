"""What every screen and widget of the app shares: a typed handle on the app."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode

if TYPE_CHECKING:
    from .app import TillpointApp


def tillpoint(node: DOMNode) -> TillpointApp:
    return cast("TillpointApp", node.app)
