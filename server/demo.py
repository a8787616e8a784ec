"""Demo data, seeded once: a vendor with businesses, branches and products, a cashier, a
customer holding gift cards and a voucher, and the QR codes of those as PNG files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.money import Money
from sync.pins import hash_pin
from sync.wire import StaffRole

from .accounts.models import Role, User
from .accounts.passwords import Passwords
from .billing import subscriptions as billing
from .billing.defaults import ensure_prices
from .billing.run import keep_card
from .deals import service as deals
from .deals.models import Deal
from .directory.models import Branch, Business, Product, StaffMember
from .keys.keyring import Keyring
from .payments import SimulatedGateway
from .settings import DEFAULT_BILLING_CURRENCY
from .tillstaff.models import TillStaff
from .wallet import cards
from .wallet.qr_images import qr_png

__all__ = ["DEMO_LOGINS", "DEMO_PASSWORD", "DEMO_PINS", "DemoSummary", "seed_demo"]

WEEKDAYS = {
    day: [{"opens": "08:00", "closes": "18:00"}] for day in ("mon", "tue", "wed", "thu", "fri")
}

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


DEMO_PASSWORD = "tillpoint-demo"  # noqa: S105 - printed for the demo's visitors
DEMO_LOGINS = {
    "vendor": "vendor@demo.tillpoint.dev",
    "cashier": "cashier@demo.tillpoint.dev",
    "customer": "customer@demo.tillpoint.dev",
}


# The café's till PINs (login: name at the till, role, PIN), printed for the demo's visitors.
DEMO_PINS = {
    "cashier": ("Cashier", StaffRole.CASHIER, "1357"),
    "vendor": ("Vendor", StaffRole.OWNER, "2580"),
}


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    businesses: int
    qr_codes: list[Path] = field(default_factory=list)
    cafe_id: str | None = None  # the demo café's, for its shop page (/shop/{id})


def _cafe_id(session: Session) -> str | None:
    name = _BUSINESSES[0]["name"]
    return session.scalar(select(Business.id).where(Business.name == name).limit(1))


def seed_demo(
    session: Session,
    keyring: Keyring | None = None,
    passwords: Passwords | None = None,
    qr_dir: Path | None = None,
    billing_currency: str = DEFAULT_BILLING_CURRENCY,
) -> DemoSummary:
    """Add the demo data unless the database already has businesses. With a keyring and
    a password hasher it adds the accounts, cards and voucher too, and with `qr_dir`
    writes their QR codes there. `billing_currency` is the setting's (prices are in it)."""
    existing = session.scalar(select(func.count()).select_from(Business)) or 0
    if existing:
        codes = sorted(qr_dir.glob("*.png")) if qr_dir and qr_dir.is_dir() else []
        return DemoSummary(
            created=False, businesses=existing, qr_codes=codes, cafe_id=_cafe_id(session)
        )
    owner = None
    if passwords is not None:
        owner = User(
            email=DEMO_LOGINS["vendor"],
            password_hash=passwords.hash(DEMO_PASSWORD),
            role=Role.VENDOR_OWNER,
            email_verified_at=datetime.now(UTC),  # the demo's addresses need no confirming
        )
        session.add(owner)
        session.flush()
    businesses = []
    for spec in _BUSINESSES:
        business = Business(
            owner_id=owner.id if owner else None,
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
        businesses.append(business)
    ensure_prices(session, billing_currency)
    today = datetime.now(UTC).date()
    for business in businesses:  # each on the plan it needs, paid by a test card
        keep_card(billing.start(session, business, today), SimulatedGateway(), "4242424242424242")
    written: list[Path] = []
    if keyring is not None and passwords is not None:
        written = _seed_wallet(session, keyring, passwords, businesses, qr_dir)
    session.commit()
    return DemoSummary(
        created=True, businesses=len(_BUSINESSES), qr_codes=written, cafe_id=businesses[0].id
    )


def _seed_wallet(
    session: Session,
    keyring: Keyring,
    passwords: Passwords,
    businesses: list[Business],
    qr_dir: Path | None,
) -> list[Path]:
    cafe, books = businesses[0], businesses[1]
    hashed = passwords.hash(DEMO_PASSWORD)
    verified = datetime.now(UTC)
    cashier = User(
        email=DEMO_LOGINS["cashier"],
        password_hash=hashed,
        role=Role.VENDOR_STAFF,
        email_verified_at=verified,
    )
    customer = User(
        email=DEMO_LOGINS["customer"],
        password_hash=hashed,
        role=Role.CUSTOMER,
        email_verified_at=verified,
    )
    session.add_all([cashier, customer])
    session.flush()
    session.add(StaffMember(user_id=cashier.id, business_id=cafe.id))
    for login, user_id in (("cashier", cashier.id), ("vendor", cafe.owner_id)):
        name, role, pin = DEMO_PINS[login]
        if user_id is not None:
            session.add(
                TillStaff(
                    business_id=cafe.id,
                    user_id=user_id,
                    name=name,
                    role=role,
                    pin_hash=hash_pin(pin),
                )
            )
    now = datetime.now(UTC)
    tokens = {
        "corner-cafe-gift-card-25": cards.issue_card(
            session, keyring, cafe, customer.id, Money.of(2500, "GBP"), "demo"
        ).token,
        "corner-cafe-gift-card-5": cards.issue_card(
            session, keyring, cafe, customer.id, Money.of(500, "GBP"), "demo"
        ).token,
        "page-turners-gift-card-10": cards.issue_card(
            session, keyring, books, customer.id, Money.of(1000, "GBP"), "demo"
        ).token,
    }
    deal = Deal(
        business_id=cafe.id,
        title="Two flat whites for one",
        currency="GBP",
        description="Bring a friend: two flat whites for the price of one.",
        original_price_minor=680,
        deal_price_minor=340,
        starts_at=now,
        ends_at=now + timedelta(days=30),
        quantity_limit=100,
    )
    session.add(deal)
    session.flush()
    voucher = deals.buy_voucher(session, keyring, deal, customer.id, "demo", now)
    tokens["corner-cafe-voucher-two-flat-whites"] = voucher.token
    if qr_dir is None:
        return []
    qr_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, token in tokens.items():
        path = qr_dir / f"{name}.png"
        path.write_bytes(qr_png(token))
        written.append(path)
    return written
