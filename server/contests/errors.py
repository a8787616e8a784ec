"""How the contests' rules refuse (the problem types are in docs/community.md, "Contests")."""

from __future__ import annotations

from typing import Any

from ..errors import BusinessNotFound, Conflict, DomainError, Invalid, NotFound

__all__ = [
    "ContestClosed",
    "ContestNotFound",
    "ContestRulesInvalid",
    "EntryNotFound",
    "NotByPoints",
    "NotContestOrganiser",
    "NotEntrant",
    "ParticipatingBusinessNotFound",
    "WrongEntrant",
]


class ContestNotFound(NotFound):
    code = "contest-not-found"
    title = "No such contest"


class EntryNotFound(NotFound):
    code = "contest-entry-not-found"
    title = "No such entry"


class ContestClosed(Conflict):
    """The contest has ended: no more entries or points."""

    code = "contest-closed"
    title = "The contest has ended"


class WrongEntrant(Conflict):
    """This contest is not between entrants of this kind, or not for this measure."""

    code = "contest-wrong-entrant"
    title = "Not open to this entrant"


class NotByPoints(Conflict):
    """Points are recorded only in a contest measured by points: the ledger counts the rest."""

    code = "contest-not-by-points"
    title = "This contest is not measured by points"


class ContestRulesInvalid(Invalid):
    code = "contest-rules-invalid"
    title = "The contest's rules are not valid"


class ParticipatingBusinessNotFound(BusinessNotFound):
    """`participating` names businesses there are none of, or (a business's contest) that
    its organiser does not run: another owner's are as if there were none."""

    def __init__(self, detail: str, *, business_ids: list[str]) -> None:
        super().__init__(detail)
        self.business_ids = business_ids

    def extra(self) -> dict[str, Any]:
        return {"business_ids": self.business_ids}


class NotContestOrganiser(DomainError):
    """Only the contest's organiser (its business's owner, or an admin for the platform's)."""

    code = "not-contest-organiser"
    status = 403
    title = "Only the contest's organiser may do this"


class NotEntrant(DomainError):
    """An entry's own page is for its entrant (the customer, or the club's members)."""

    code = "not-entrant"
    status = 403
    title = "Only the entrant sees this"
