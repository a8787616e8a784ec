"""The cashier's words: plurals, the server's refusals without field paths, what a sync did."""

import pytest

from sync.client import ServerRefusedError
from sync.engine import PushSummary
from sync.money import Money
from terminal.core.session import OwnerError, TerminalSession
from terminal.core.words import clause, count, refusal, synced
from tests.terminal.test_roles_app import paired_till


@pytest.mark.parametrize(
    ("number", "words"),
    [(0, "0 redemptions"), (1, "1 redemption"), (2, "2 redemptions")],
)
def test_plurals(number, words):
    assert count(number, "redemption") == words


def invalid(field):
    return ServerRefusedError(
        422,
        {
            "type": "https://tillpoint.dev/problems/invalid-request",
            "status": 422,
            "detail": f"Fix these fields and send it again: {field}",
            "errors": [{"field": field, "message": "too large"}],
        },
    )


def test_an_amount_the_server_would_not_read_is_said_in_words():
    said = refusal(invalid("body.amount_minor"), Money.of(99_999_900, "GBP"))
    assert said == "£999,999.00 is more than one redemption can be (at most £100,000.00)."


@pytest.mark.parametrize("field", ["body.token", "body.something_else", "query.cursor"])
def test_no_refusal_names_a_field(field):
    said = refusal(invalid(field))
    assert "body." not in said
    assert "query." not in said
    assert "Fix these fields" not in said


def test_a_domain_refusal_keeps_the_servers_words():
    used = ServerRefusedError(
        409,
        {
            "type": "https://tillpoint.dev/problems/voucher-used",
            "status": 409,
            "detail": "This voucher was already redeemed: it can be used once.",
        },
    )
    assert refusal(used) == "This voucher was already redeemed: it can be used once."


def test_a_sync_says_what_it_did():
    assert synced(PushSummary(pushed=2, pulled=5)) == "Synced: 2 sent, 5 changes received"
    assert synced(PushSummary(pushed=1, pulled=1)) == "Synced: 1 sent, 1 change received"


def problem(kind, status, detail, **more):
    return ServerRefusedError(
        status,
        {
            "type": f"https://tillpoint.dev/problems/{kind}",
            "status": status,
            "detail": detail,
            **more,
        },
    )


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        (
            "invalid-pairing-code",
            "That code is wrong, used or expired: ask the owner for a new one in the vendor "
            "screens, and type it again.",
        ),
        (
            "owner-role-reserved",
            "Only the owner's account is owner at the tills: give staff the manager role.",
        ),
        ("weak-pin", "A PIN of one repeated digit or a run (1234) is the first one guessed."),
    ],
)
def test_a_422_that_is_not_about_fields_keeps_the_servers_words(kind, detail):
    assert refusal(problem(kind, 422, detail)) == detail


def test_only_a_refusal_naming_fields_gets_the_generic_words():
    said = refusal(invalid("body.something_else"))
    assert said == "The server could not take this: check what was typed or scanned, and try again."
    assert refusal(invalid("body.email")) == (
        "That is not an email address: check it and type it again."
    )
    # A 422 that is not problem+json at all is not the server's words either.
    bare = ServerRefusedError(422, {"detail": [{"loc": ["body", "pin"], "msg": "bad"}]})
    assert "loc" not in refusal(bare)


@pytest.mark.parametrize(
    ("words", "as_clause"),
    [
        (
            "The email or password is wrong: check both and try again.",
            "The email or password is wrong: check both and try again",
        ),
        ("pair the terminal first", "pair the terminal first"),
        ("Wait…", "Wait…"),
        ("Done. ", "Done"),
        ("Done..", "Done"),
    ],
)
def test_a_clause_has_no_full_stop_for_the_caller_to_double(words, as_clause):
    assert clause(words) == as_clause


def test_an_owner_refusal_reads_as_a_clause_so_not_signed_in_ends_in_one_stop(tmp_path, key):
    """The screens say `Not signed in: {exc}.`; the server's sentence already has its stop."""
    paired_till(tmp_path / "till.db", key).close()
    session = TerminalSession(tmp_path / "till.db")
    wrong = problem("sign-in-refused", 401, "The email or password is wrong: check both.")

    def refuse(client, business):
        raise wrong

    with pytest.raises(OwnerError) as refused:
        session.as_owner(refuse)
    assert f"Not signed in: {refused.value}." == (
        "Not signed in: The email or password is wrong: check both."
    )
    session.close()
