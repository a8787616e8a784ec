"""A customer's favourites, saved deals and tastes, and the deals ranked for them."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.server.api import create_deal, open_shop

OLD_STREET = (51.5257, -0.0875)
ISLINGTON = (51.5362, -0.1033)  # about 1.6 km from Old Street
DUBLIN = (53.3498, -6.2603)


def shop_at(client, sessions, name, category, where):
    shop = open_shop(client, name=name)
    if category != "cafe":
        from server.directory.models import Business

        # The helper opens cafés; set the category the way a vendor would have listed it.
        with sessions() as session:
            session.get(Business, shop.business_id).category = category
            session.commit()
    branch = {"name": "Main", "address": "1 High St", "latitude": where[0], "longitude": where[1]}
    created = shop.owner.post(f"/api/v1/businesses/{shop.business_id}/branches", branch)
    assert created.status_code == 201, created.text
    return shop


def deal_of(shop, title):
    response = create_deal(shop, title=title)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def for_me(customer, **params):
    response = customer.get("/api/v1/me/deals", params=params)
    assert response.status_code == 200, response.text
    return [(d["title"], d["reasons"]) for d in response.json()["items"]]


def test_favourites_are_kept_once_and_removed(client, customer, shop):
    path = f"/api/v1/me/favourites/{shop.business_id}"
    assert customer.put(path).status_code == 204
    assert customer.put(path).status_code == 204  # again: no change
    page = customer.get("/api/v1/me/favourites").json()
    assert page["total"] == 1
    assert page["items"][0]["business_id"] == shop.business_id
    assert customer.delete(path).status_code == 204
    assert customer.delete(path).status_code == 204
    assert customer.get("/api/v1/me/favourites").json()["total"] == 0


def test_unknown_things_are_refused_and_nothing_is_kept(client, customer):
    missing = customer.put("/api/v1/me/favourites/nosuchbiz00")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/business-not-found")
    assert customer.put("/api/v1/me/saved-deals/nosuchdeal0").status_code == 404
    assert customer.get("/api/v1/me/favourites").json()["total"] == 0
    assert customer.get("/api/v1/me/saved-deals").json()["total"] == 0


def test_saving_at_once_from_many_phones_keeps_one(client, customer, shop):
    deal_id = deal_of(shop, "Two coffees for one")
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: customer.put(f"/api/v1/me/saved-deals/{deal_id}"), range(8))
        )
        answers += list(
            pool.map(lambda _: customer.put(f"/api/v1/me/favourites/{shop.business_id}"), range(8))
        )
    assert {a.status_code for a in answers} == {204}
    assert customer.get("/api/v1/me/saved-deals").json()["total"] == 1
    assert customer.get("/api/v1/me/favourites").json()["total"] == 1


def test_favourites_are_each_persons_own(client, customer, shop):
    from tests.server.api import sign_up

    assert customer.put(f"/api/v1/me/favourites/{shop.business_id}").status_code == 204
    other = sign_up(client)
    assert other.get("/api/v1/me/favourites").json()["total"] == 0
    assert client.get("/api/v1/me/favourites").status_code == 401


def test_tastes_keep_one_of_each_category_and_a_home(client, customer):
    body = {"categories": ["Café", "cafe", " Books "], "home": {"latitude": 51.5, "longitude": 0}}
    answer = customer.put("/api/v1/me/tastes", body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "categories": ["Books", "Café"],
        "home": {"latitude": 51.5, "longitude": 0.0},
    }
    assert customer.get("/api/v1/me/tastes").json() == answer.json()
    wrong = customer.put(
        "/api/v1/me/tastes", {"categories": [], "home": {"latitude": 91, "longitude": 0}}
    )
    assert wrong.status_code == 422
    assert customer.get("/api/v1/me/tastes").json() == answer.json()  # a refusal changes nothing


@pytest.mark.parametrize(
    ("category", "says"), [("x" * 61, "At most 60 characters"), ("  ", "blank")]
)
def test_a_category_no_business_could_have_is_refused(customer, category, says):
    before = customer.get("/api/v1/me/tastes").json()
    wrong = customer.put("/api/v1/me/tastes", {"categories": ["cafe", category]})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "body.categories.1"
    assert says in wrong.json()["errors"][0]["message"]
    assert customer.get("/api/v1/me/tastes").json() == before


def test_deals_for_me_rank_by_what_i_like_then_distance(client, sessions, customer):
    cafe = shop_at(client, sessions, "Corner Café", "cafe", OLD_STREET)
    books = shop_at(client, sessions, "Page Turners", "books", ISLINGTON)
    bakery = shop_at(client, sessions, "Bácús Bakery", "bakery", DUBLIN)
    deal_of(cafe, "Two coffees for one")
    deal_of(books, "Second book half price")
    saved_far = deal_of(bakery, "Free soda bread")
    assert customer.put(f"/api/v1/me/favourites/{books.business_id}").status_code == 204
    assert customer.put(f"/api/v1/me/saved-deals/{saved_far}").status_code == 204
    lat, lon = OLD_STREET

    assert for_me(customer, lat=lat, lon=lon, radius_km=5) == [
        ("Second book half price", ["favourite", "near"]),
        ("Free soda bread", ["saved"]),  # saved: shown wherever it is
        ("Two coffees for one", ["near"]),
    ]
    # Liking cafés lifts the café's deal; the far bakery's unsaved deal would not show.
    customer.put(
        "/api/v1/me/tastes", {"categories": ["Cafe"], "home": {"latitude": lat, "longitude": lon}}
    )
    assert customer.delete(f"/api/v1/me/saved-deals/{saved_far}").status_code == 204
    assert for_me(customer) == [  # no lat/lon: from home
        ("Second book half price", ["favourite", "near"]),
        ("Two coffees for one", ["category", "near"]),
    ]


def test_with_no_place_at_all_tastes_decide(client, sessions, customer):
    cafe = shop_at(client, sessions, "Corner Café", "cafe", OLD_STREET)
    books = shop_at(client, sessions, "Page Turners", "books", ISLINGTON)
    deal_of(cafe, "Two coffees for one")
    deal_of(books, "Second book half price")
    assert for_me(customer) == []
    customer.put("/api/v1/me/tastes", {"categories": ["books"]})
    assert for_me(customer) == [("Second book half price", ["category"])]


@pytest.mark.parametrize("params", [{"lat": 51.5}, {"lon": 0}, {"lat": 99, "lon": 0}])
def test_a_half_given_place_is_refused(client, customer, params):
    answer = customer.get("/api/v1/me/deals", params=params)
    assert answer.status_code == 422
