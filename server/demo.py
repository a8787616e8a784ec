"""Demo data: a few businesses with branches and products, seeded once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.money import Money

from .directory.models import Branch, Business, Product

__all__ = ["DemoSummary", "seed_demo"]

WEEKDAYS = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "08:00-18:00")

_BUSINESSES: list[dict[str, Any]] = [
    {
        "name": "Corner Café",
        "category": "cafe",
        "description": "Coffee, cakes and breakfast all day.",
        "currency": "GBP",
        "branches": [
            ("Shoreditch", "12 Rivington St, London EC2A 3DU", 51.5264, -0.0794),
            ("Camden", "44 Parkway, London NW1 7AH", 51.5386, -0.1443),
        ],
        "products": [
            ("Flat white", "3.40", {"size": "regular"}),
            ("Almond croissant", "3.10", {"vegan": False}),
            ("Full breakfast", "11.50", {"served_until": "15:00"}),
        ],
    },
    {
        "name": "Page Turners Books",
        "category": "books",
        "description": "Independent bookshop with a children's corner.",
        "currency": "GBP",
        "branches": [("Islington", "201 Upper St, London N1 1RQ", 51.5416, -0.1025)],
        "products": [
            ("Book token", "10.00", {"kind": "gift"}),
            ("Reading club (month)", "8.00", {"ages": "7-11"}),
        ],
    },
    {
        "name": "Spoke & Chain",
        "category": "bikes",
        "description": "Bike repairs and servicing while you wait.",
        "currency": "GBP",
        "branches": [("Hackney", "3 Mare St, London E8 4RP", 51.5345, -0.0553)],
        "products": [
            ("Puncture repair", "12.00", {"duration_min": 20}),
            ("Full service", "79.99", {"duration_min": 120}),
        ],
    },
    {
        "name": "Bácús Bakery",
        "category": "bakery",
        "description": "Sourdough and pastries baked every morning.",
        "currency": "EUR",
        "branches": [("Temple Bar", "15 Fleet St, Dublin 2", 53.3455, -6.2620)],
        "products": [("Sourdough loaf", "5.50", {"weight_g": 800})],
    },
]


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    businesses: int


def seed_demo(session: Session) -> DemoSummary:
    """Add the demo businesses unless the database already has businesses."""
    existing = session.scalar(select(func.count()).select_from(Business)) or 0
    if existing:
        return DemoSummary(created=False, businesses=existing)
    for spec in _BUSINESSES:
        business = Business(
            name=spec["name"],
            category=spec["category"],
            description=spec["description"],
            currency=spec["currency"],
        )
        business.branches = [
            Branch(name=n, address=a, latitude=lat, longitude=lon, opening_hours=dict(WEEKDAYS))
            for n, a, lat, lon in spec["branches"]
        ]
        session.add(business)
        session.flush()
        for name, price, attributes in spec["products"]:
            money = Money.from_decimal(price, spec["currency"])
            session.add(
                Product(
                    business_id=business.id,
                    name=name,
                    price_minor=money.minor,
                    currency=money.currency.code,
                    attributes=attributes,
                )
            )
    session.commit()
    return DemoSummary(created=True, businesses=len(_BUSINESSES))
