"""A yes-or-no question over the screen: Y does it, N or Esc keeps things as they are, so
nothing that cannot be taken back (a void, a cleared PIN, a revoked till) is one stray key
away. Its words are shown as written: names in them come from the server."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["YesOrNo", "answers"]


def answers(doing: str) -> list[BindingType]:
    """A question's keys, Y labelled with what it does ("void it")."""
    return [
        Binding("y", "answer(True)", f"Yes, {doing}"),
        Binding("n", "answer(False)", "No, keep it"),
        Binding("escape", "answer(False)", "Keep it"),
    ]


class YesOrNo(ModalScreen[bool]):
    """Answers True for Y; subclasses give their `BINDINGS` (`answers`) and the question."""

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(self.question, markup=False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
