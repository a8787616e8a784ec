"""Messages the app's workers post back to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from sync.engine import PushSummary
from sync.money import Money

from ..core.presented import Presented
from ..core.till import Verdict


@dataclass
class CodeScanned(Message):
    """A camera or USB scanner read a code."""

    code: str
    source: str  # "camera", "usb scanner" or "typed"


@dataclass
class VerdictReached(Message):
    """The till decided on a redemption."""

    presented: Presented
    amount: Money
    verdict: Verdict


@dataclass
class SyncFinished(Message):
    """A background or requested sync ended; `summary` is None when it did not get through."""

    summary: PushSummary | None


@dataclass
class CameraChanged(Message):
    """The camera's state in words, for the scanner line."""

    text: str
