import pytest

from server.demo import seed_demo


@pytest.fixture
def seeded(sessions):
    with sessions() as session:
        seed_demo(session)


def names(response):
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def test_health_reports_the_database(client, engine):
    response = client.get("/healthz")
    assert response.json() == {"status": "ok", "database": engine.dialect.name}


def test_search_by_text_and_category(client, seeded):
    assert names(client.get("/api/v1/businesses", params={"q": "coffee"})) == ["Corner Café"]
    assert names(client.get("/api/v1/businesses", params={"q": "BOOK"})) == ["Page Turners Books"]
    assert names(client.get("/api/v1/businesses", params={"category": "Bikes"})) == [
        "Spoke & Chain"
    ]
    assert names(client.get("/api/v1/businesses", params={"q": "nothing like this"})) == []


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("cafe", ["Corner Café"]),
        ("CAFÉ", ["Corner Café"]),
        ("bacus", ["Bácús Bakery"]),
        ("  corner   CAFE ", ["Corner Café"]),  # words, in any case, spaces aside
        ("café corner", ["Corner Café"]),  # every word, in any order
        ("café bikes", []),  # every word must match
        ("100%", []),  # LIKE's wildcards are plain characters here
        ("_", []),
    ],
)
def test_search_folds_case_and_accents(client, seeded, q, found):
    assert names(client.get("/api/v1/businesses", params={"q": q})) == found


def test_search_ranks_names_before_descriptions(client, seeded, sessions):
    from server.directory.models import Business

    with sessions() as session:
        for name, description in [
            ("Bakehouse Annex", ""),
            ("Annex", ""),
            ("Annex Deli", ""),
            ("Zed's Diner", "Round the corner from the annex"),
        ]:
            session.add(
                Business(name=name, category="Food", description=description, currency="GBP")
            )
        session.commit()
    assert names(client.get("/api/v1/businesses", params={"q": "annex"})) == [
        "Annex",  # the name is the search
        "Annex Deli",  # the name starts with it
        "Bakehouse Annex",  # a later word of the name does
        "Zed's Diner",  # only the description holds it
    ]


def test_renamed_business_is_found_by_its_new_name(client, seeded, sessions):
    from sqlalchemy import select

    from server.directory.models import Business

    with sessions() as session:
        cafe = session.scalars(select(Business).where(Business.name == "Corner Café")).one()
        cafe.name = "Kaffeehaus Über"
        session.commit()
    assert names(client.get("/api/v1/businesses", params={"q": "uber"})) == ["Kaffeehaus Über"]
    assert "Corner Café" not in names(client.get("/api/v1/businesses", params={"q": "corner"}))


@pytest.mark.parametrize("path", ["/api/v1/businesses", "/api/v1/deals"])
def test_public_lists_answer_304_while_unchanged(client, seeded, path, sessions):
    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_a_change_changes_the_etag(client, seeded, sessions):
    from sqlalchemy import select

    from server.directory.models import Business

    (cafe,) = client.get("/api/v1/businesses", params={"q": "cafe"}).json()["items"]
    path = f"/api/v1/businesses/{cafe['id']}"
    etag = client.get(path).headers["etag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    with sessions() as session:
        session.scalars(select(Business).where(Business.id == cafe["id"])).one().description = "New"
        session.commit()
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["description"] == "New"
    assert changed.headers["etag"] != etag


def test_search_by_distance_is_nearest_first(client, seeded):
    # Standing at Old Street: Shoreditch (~0.6 km), then Islington, then Hackney.
    response = client.get(
        "/api/v1/businesses", params={"lat": 51.5257, "lon": -0.0875, "radius_km": 3}
    )
    assert names(response) == ["Corner Café", "Page Turners Books", "Spoke & Chain"]
    distances = [item["distance_km"] for item in response.json()["items"]]
    assert distances == sorted(distances)
    assert distances[0] < 1
    # Dublin's bakery is not within 3 km of London.
    assert "Bácús Bakery" not in names(response)


def test_pagination_walks_every_business_once(client, seeded):
    seen, offset = [], 0
    while offset is not None:
        page = client.get("/api/v1/businesses", params={"limit": 3, "offset": offset}).json()
        seen += [item["id"] for item in page["items"]]
        assert page["total"] == 4
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == 4


def test_detail_shows_products_with_money(client, seeded):
    (cafe,) = client.get("/api/v1/businesses", params={"q": "coffee"}).json()["items"]
    detail = client.get(f"/api/v1/businesses/{cafe['id']}").json()
    prices = {p["name"]: p["price"] for p in detail["products"]}
    assert prices["Full breakfast"] == {"minor": 1150, "currency": "GBP", "text": "£11.50"}
    assert len(detail["branches"]) == 2


@pytest.mark.parametrize(
    ("path", "params", "status", "kind"),
    [
        ("/api/v1/businesses/missing", {}, 404, "business-not-found"),
        ("/api/v1/businesses", {"limit": 0}, 422, "invalid-request"),
        ("/api/v1/businesses", {"lat": 91, "lon": 0}, 422, "invalid-request"),
        ("/api/v1/businesses", {"lat": 51.5}, 422, "invalid-request"),
        ("/api/v1/nowhere", {}, 404, "not-found"),
        ("/api/v1/businesses", {"offset": 10**20}, 422, "invalid-request"),
        ("/api/v1/deals", {"offset": 10**20}, 422, "invalid-request"),
    ],
)
def test_bad_requests_are_problem_json(client, seeded, path, params, status, kind):
    response = client.get(path, params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/" + kind)
    assert body["status"] == status
    assert body["detail"]


def test_seeding_twice_adds_nothing(sessions, client):
    with sessions() as session:
        assert seed_demo(session).created
        assert not seed_demo(session).created
    assert client.get("/api/v1/businesses").json()["total"] == 4
