"""The demo's mail sink: a real SMTP server on loopback that keeps each message it is given
as a file, so the demo's emails (receipts, reminders, gifts) can be read without a mail
server. Each message is `DIR/NNNN-<subject>.eml`, which any mail program opens and which
reads as plain text too."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["MailFolder", "start_mail_sink"]

_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


class MailFolder:
    """An aiosmtpd handler: every message delivered becomes a file in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        subject = _UNSAFE.sub("-", str(message.get("Subject", "no subject"))).strip("-")[:60]
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            number = len(list(self.folder.glob("*.eml"))) + 1
            path = self.folder / f"{number:04d}-{subject or 'no-subject'}.eml"
            path.write_bytes(envelope.content)
        return "250 kept"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_mail_sink(folder: Path) -> Controller:
    """An SMTP server on 127.0.0.1 (its port: `.port`) keeping mail in `folder`; `.stop()`."""
    controller = Controller(MailFolder(folder), hostname="127.0.0.1", port=_free_port())
    controller.start()
    return controller
