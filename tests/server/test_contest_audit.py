"""Contests, as the community audit found them (/work/audit/community.md): a refunded
donation counts nothing (1); a business's contest counts only its organiser's own businesses
(3); a bad prize is a bad rule (6); the words of its messages (11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from server.community.donations import REFUND_WINDOW
from server.community.models import Donation
from server.contests import results
from server.contests.models import Contest
from server.notifications.models import Notification
from tests.server.api import APPROVE, make_admin, new_key, open_shop, sign_up
from tests.server.test_clubs import found
from tests.server.test_contests import (
    EMAIL,
    board,
    finish_all,
    ranking,
    run_contest,
    sister_shop,
    window,
)

PROBLEMS = "https://tillpoint.dev/problems/"


def donate(person, club, amount):
    given = person.post(
        f"/api/v1/clubs/{club['id']}/donations",
        {"amount_minor": amount, "payment": {"card_number": APPROVE}},
        key=new_key(),
    )
    assert given.status_code == 201, given.text
    return given.json()


def give_back(person, club, donation):
    answer = person.post(
        f"/api/v1/clubs/{club['id']}/donations/{donation['id']}/refund", key=new_key()
    )
    assert answer.status_code == 200, answer.text


def enter_club(founder, contest, club):
    answer = founder.post(f"/api/v1/contests/{contest['id']}/entries", {"club_id": club["id"]})
    assert answer.status_code == 200, answer.text
    return answer.json()


def finish_at(client, contest, after: timedelta) -> int:
    """Run the contests' job at `after` past the contest's end (as stored)."""
    with client.app.state.sessions() as session:
        ends_at = session.get_one(Contest, contest["id"]).ends_at
        done = results.finish_due(session, ends_at + after, client.app.state.keyring, EMAIL)
        session.commit()
    return done


# -- 1: a refunded donation was not received ---------------------------------------------------


def test_a_donation_given_back_counts_nothing_for_the_club_or_the_donor(client, shop):
    contest = run_contest(shop, measure="donated", entrants="both", prizes=(2000,))
    mallory, alice = sign_up(client), sign_up(client)
    gamers = found(mallory, "Gamers")
    readers = found(alice, "Readers")
    enter_club(mallory, contest, gamers)
    enter_club(alice, contest, readers)
    mallory.post(f"/api/v1/contests/{contest['id']}/entries", {"display_name": "Mal"})
    give_back(mallory, gamers, donate(mallory, gamers, 100_000))
    donate(alice, readers, 500)
    assert ranking(client, contest) == [("Readers", 500), ("Gamers", 0), ("Mal", 0)]


def test_reached_at_is_the_kept_donation_s_not_the_refunded_one(client, shop):
    contest = run_contest(shop, measure="donated", entrants="clubs", prizes=())
    founder = sign_up(client)
    club = found(founder, "Readers")
    enter_club(founder, contest, club)
    kept = donate(founder, club, 700)
    give_back(founder, club, donate(founder, club, 5000))
    [standing] = board(client, contest)["items"]
    with client.app.state.sessions() as session:
        given_at = session.get_one(Donation, kept["id"]).created_at
    assert standing["score"] == 700
    assert datetime.fromisoformat(standing["reached_at"]) == given_at


def test_the_job_pays_the_prize_to_the_club_that_kept_its_donations(client, shop):
    """Given back after the end (the 14 days to refund outlast the contest), the donation
    still counts nothing: the results wait until no donation in them can be refunded."""
    contest = run_contest(shop, measure="donated", entrants="clubs", prizes=(2000,))
    mallory, alice = sign_up(client), sign_up(client)
    gamers, readers = found(mallory, "Gamers"), found(alice, "Readers")
    enter_club(mallory, contest, gamers)
    enter_club(alice, contest, readers)
    big = donate(mallory, gamers, 100_000)
    donate(alice, readers, 500)
    with client.app.state.sessions() as session:  # the contest ends now
        session.execute(
            update(Contest).where(Contest.id == contest["id"]).values(ends_at=datetime.now(UTC))
        )
        session.commit()
    give_back(mallory, gamers, big)
    shown = client.get(f"/api/v1/contests/{contest['id']}").json()
    ends_at = datetime.fromisoformat(shown["ends_at"])
    assert datetime.fromisoformat(shown["results_at"]) == ends_at + REFUND_WINDOW  # said when
    assert finish_at(client, contest, timedelta(minutes=1)) == 0  # refunds may still come
    assert board(client, contest)["status"] == "open"
    assert finish_at(client, contest, REFUND_WINDOW + timedelta(minutes=1)) == 1
    final = board(client, contest)
    assert final["status"] == "finished"
    assert [(s["name"], s["score"], (s["prize"] or {}).get("minor")) for s in final["items"]] == [
        ("Readers", 500, 2000),
        ("Gamers", 0, None),
    ]
    (held,) = alice.get(f"/api/v1/clubs/{readers['id']}/holdings").json()["items"]
    assert (held["kind"], held["won_in"]) == ("gift_card", contest["id"])
    assert mallory.get(f"/api/v1/clubs/{gamers['id']}/holdings").json()["items"] == []


def test_contests_on_other_measures_finish_as_soon_as_they_end(client, shop):
    contest = run_contest(shop, prizes=())
    assert contest["results_at"] == contest["ends_at"]
    assert finish_all(client, contest) == 1


# -- 3: a business's contest counts its organiser's own businesses -------------------------


def contest_body(**changes):
    start, end, _ = window()
    body = {
        "title": "Rival cup",
        "starts_at": start,
        "ends_at": end,
        "entrants": "customers",
        "measure": "redeemed",
        "prizes_minor": [100],
    }
    return body | changes


def test_a_contest_may_not_count_another_owner_s_businesses(client, shop):
    rival = open_shop(client, "Rival Books")
    answer = rival.owner.post(
        f"/api/v1/businesses/{rival.business_id}/contests",
        contest_body(participating=[rival.business_id, shop.business_id, "nope"]),
    )
    assert answer.status_code == 404, answer.text
    problem = answer.json()
    assert problem["type"] == PROBLEMS + "business-not-found"
    assert problem["business_ids"] == [shop.business_id, "nope"]
    assert shop.business_id in problem["detail"]
    assert client.get("/api/v1/contests").json()["total"] == 0


def test_an_owner_s_contest_counts_all_their_businesses(client, shop):
    east = sister_shop(client, shop, "Corner Café East").business_id
    answer = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/contests",
        contest_body(participating=[shop.business_id, east]),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["participating"] == [shop.business_id, east]


def test_a_manager_counts_only_the_businesses_they_run(client, shop):
    east = sister_shop(client, shop, "Corner Café East").business_id
    made = shop.owner.patch(
        f"/api/v1/businesses/{shop.business_id}/staff/{shop.cashier.id}", {"role": "manager"}
    )
    assert made.status_code == 200, made.text
    path = f"/api/v1/businesses/{shop.business_id}/contests"
    refused = shop.cashier.post(path, contest_body(participating=[shop.business_id, east]))
    assert refused.status_code == 404, refused.text
    assert refused.json()["business_ids"] == [east]
    assert shop.cashier.post(path, contest_body()).status_code == 201


def test_the_platform_s_contest_may_count_any_business(client, shop):
    rival = open_shop(client, "Rival Books")
    admin = make_admin(client)
    body = contest_body(
        participating=[shop.business_id, rival.business_id], prize_business_id=shop.business_id
    )
    answer = admin.post("/api/v1/contests", body)
    assert answer.status_code == 201, answer.text
    unknown = admin.post("/api/v1/contests", body | {"participating": ["nope"]})
    assert unknown.status_code == 404
    assert unknown.json()["business_ids"] == ["nope"]


# -- 6: a bad prize is a bad rule, on either side of its range ----------------------------


@pytest.mark.parametrize("prizes", [[0], [-5], [1000, 0], [10**9], [100] * 11], ids=str)
def test_a_prize_out_of_range_is_a_bad_rule(client, shop, prizes):
    answer = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/contests", contest_body(prizes_minor=prizes)
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == PROBLEMS + "contest-rules-invalid"
    assert client.get("/api/v1/contests").json()["total"] == 0


@pytest.mark.parametrize("prizes", [[1], [100] * 10], ids=["one", "ten places"])
def test_prizes_in_range_are_taken(shop, prizes):
    answer = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/contests", contest_body(prizes_minor=prizes)
    )
    assert answer.status_code == 201, answer.text


# -- 11: words ----------------------------------------------------------------------------------


def test_a_club_s_result_reads_well_whatever_its_name(client, shop):
    contest = run_contest(shop, measure="points", entrants="clubs", prizes=(500,))
    winner, loser = sign_up(client), sign_up(client)
    readers, gamers = found(winner, "Readers"), found(loser, "Gamers")
    entry = enter_club(winner, contest, readers)
    enter_club(loser, contest, gamers)
    points = {"entry_id": entry["id"], "points": 3}
    path = f"/api/v1/contests/{contest['id']}/points"
    assert shop.owner.post(path, points, key=new_key()).status_code == 201
    assert finish_all(client, contest) == 1
    with client.app.state.sessions() as session:
        titles = set(
            session.scalars(
                select(Notification.title).where(
                    Notification.user_id == loser.id, Notification.kind == "contest_result"
                )
            )
        )
    assert titles == {"Gamers came 2nd of 2 in Autumn regulars"}


def test_only_an_admin_runs_the_platform_s_contests(shop):
    answer = shop.owner.post("/api/v1/contests", contest_body(prize_business_id=shop.business_id))
    assert answer.status_code == 403
    assert answer.json()["detail"].startswith("Only an admin can do this")
