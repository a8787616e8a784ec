"""Messages the app's workers post back to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from textual.message import Message

from sync.engine import PushSummary
from sync.money import Money

from ..core.presented import Presented
from ..core.till import Verdict


class ScanSource(StrEnum):
    """Where a code came from; its value is how the scan screen names it."""

    CAMERA = "camera"
    USB_SCANNER = "usb scanner"
    TYPED = "typed"


@dataclass
class CodeScanned(Message):
    """A camera or USB scanner read a code."""

    code: str
    source: ScanSource


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
    said: str = ""  # what happened, in the cashier's words
    asked: bool = False  # the cashier pressed F5 (rather than the timer)


class ChangesAnnounced(Message):
    """The server's stream says changes wait for this terminal: pull now."""


@dataclass
class CameraChanged(Message):
    """The camera's state in words, short enough for the status line; `trouble`, when it
    cannot read codes, is the whole of why and what to do (said once, where there is room)."""

    text: str
    trouble: str = ""
