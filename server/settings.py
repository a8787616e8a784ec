"""Server settings from the environment (prefix ``TILLPOINT_``), built on first use."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sync.money import currency

__all__ = ["DEFAULT_BILLING_CURRENCY", "Settings", "get_settings"]

DEFAULT_BILLING_CURRENCY = "GBP"  # the price list's currency unless the operator sets another


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TILLPOINT_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="where the SQLite file and keys live")
    database_url: str = Field(
        default="",
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; empty means a SQLite file in the data dir",
    )
    keys_dir: Path | None = Field(default=None, description="issuer keys; default DATA_DIR/keys")
    public_url: str = "http://127.0.0.1:8000"
    argon2_time_cost: int = 3  # argon2-cffi's recommended parameters
    argon2_memory_kib: int = 65536
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="the largest request body accepted (413 above)"
    )
    login_attempts_per_minute: int = Field(
        default=10, description="pairing attempts per address a minute"
    )
    login_free_failures: int = Field(
        default=5,
        description="wrong passwords for an account, an address or a known device before "
        "sign-in waits: then 1, 2, 4… seconds after each further one",
    )
    login_backoff_max_seconds: float = Field(
        default=900, description="the longest wait between failed sign-ins"
    )
    redemptions_per_minute: int = 120
    redemption_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="redemptions a worker process runs in the database at once; others wait "
        "their turn",
    )
    purchase_threads: int = Field(
        default=8,
        ge=1,
        le=64,
        description="purchases a worker process runs at once, each waiting on the payment "
        "provider and the database; others wait their turn",
    )
    billing_interval_seconds: float = Field(
        default=3600, description="how often the server runs billing for today; 0: never"
    )
    billing_currency: str = Field(
        default=DEFAULT_BILLING_CURRENCY,
        description="the price list's currency: subscriptions are priced, and exchange rates "
        "quoted, in it",
    )
    payment_gateway: str = Field(
        default="simulated",
        description="`simulated` (Stripe-like test cards), or `module:factory` of an adapter "
        "whose factory takes these settings",
    )

    redis_url: str = Field(
        default="",
        validation_alias=AliasChoices("REDIS_URL", "TILLPOINT_REDIS_URL"),
        description="Redis for rate limits, login throttles and the token deny list, shared "
        "by every worker and host; empty: kept in this process (one worker only)",
    )
    redis_prefix: str = Field(
        default="tillpoint:", description="put before every Redis key (several apps, one Redis)"
    )
    jwt_secret: str = Field(
        default="",
        description="the access-token signing secret, the same on every host; or use "
        "jwt_secret_file. Empty: a file made in the data dir (one host only)",
        repr=False,
    )
    jwt_secret_path: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("TILLPOINT_JWT_SECRET_FILE", "jwt_secret_path"),
        description="a mounted secret file holding the signing secret",
    )
    metrics_token: str = Field(
        default="",
        description="/metrics answers only with 'Authorization: Bearer <this>'; empty: "
        "/metrics is off (404)",
        repr=False,
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65_535,
        description="serve /metrics on this port of its own (no token) instead; the API port "
        "then answers 404 for it",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="the address the metrics port listens on"
    )
    # Ports of their own, not the API's: the three processes often share a host and its
    # environment, and two processes cannot listen on one port.
    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65_535,
        description="the port `tillpoint server worker` serves /metrics on (no token)",
    )
    jobs_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65_535,
        description="the port `tillpoint server jobs` serves /metrics on (no token)",
    )
    # Money limits, modelled on Square's gift-card limits (Square UK: at most £750 on a card).
    # Amounts are minor units of the currency concerned (pence for a GBP business).
    max_card_balance_minor: int = Field(
        default=75_000,
        gt=0,
        description="most a gift card may hold; a purchase, transfer or refund beyond it is "
        "refused",
    )
    max_daily_load_per_payment_card_minor: int = Field(
        default=200_000,
        gt=0,
        description="most one payment card may load onto gift cards and donate to clubs in a "
        "UTC day, per currency; what is refunded to it stops counting",
    )
    max_business_card_liability_minor: int = Field(
        default=10_000_000,
        gt=0,
        description="most a business's gift cards may hold together (its outstanding gift-card "
        "liability); purchases and refunds beyond it are refused",
    )

    # Notifications (docs/operations.md, "Notifications").
    notifications_interval_seconds: float = Field(
        default=5,
        ge=0,
        description="how often the server's own worker reads the event log and delivers the "
        "outbox; 0: never (run `tillpoint server worker` instead)",
    )
    notifications_batch: int = Field(
        default=100, gt=0, description="events read, and notifications claimed, per round"
    )
    notifications_max_attempts: int = Field(
        default=8, gt=0, description="tries of one notification before it is marked failed"
    )
    notifications_retry_seconds: float = Field(
        default=30,
        gt=0,
        description="the wait after a first failed try; doubled after each further one",
    )
    low_balance_threshold_minor: int = Field(
        default=500,
        ge=0,
        description="a redemption that leaves a card holding less than this tells its owner",
    )
    deal_alert_radius_km: float = Field(
        default=10,
        gt=0,
        le=500,
        description="a new deal in a liked category is told to those whose home is this near",
    )
    sandbox: bool = Field(
        default=False,
        description="a sandbox for integrators and rehearsals, never real money: the clock "
        "may be set (`tillpoint server worker --once --now`)",
    )
    reminders_interval_seconds: float = Field(
        default=600,
        ge=0,
        description="how often a worker looks for expiry and saved-deal reminders due",
    )
    smtp_host: str = Field(default="", description="the mail server; empty: no email is sent")
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    smtp_from: str = Field(
        default="Tillpoint <no-reply@tillpoint.invalid>", description="the sender of emails"
    )
    smtp_username: str = ""
    smtp_password: SecretStr = Field(default=SecretStr(""), repr=False)
    smtp_starttls: bool = Field(default=False, description="upgrade the connection with STARTTLS")
    smtp_timeout_seconds: float = Field(default=10, gt=0)
    push_transport: str = Field(
        default="",
        description="`fcm`, or `module:factory` of a push adapter; empty: nothing is sent by push",
    )
    fcm_credentials_file: Path | None = Field(
        default=None,
        description="the Firebase project's service-account JSON, for `push_transport=fcm`; "
        "unset: Google's application default credentials",
    )

    # Webhooks (docs/operations.md, "Webhooks").
    webhooks_interval_seconds: float = Field(
        default=5,
        ge=0,
        description="how often the server's own webhook worker reads the event log and sends "
        "what is due; 0: never (run `tillpoint server worker` instead)",
    )
    webhooks_batch: int = Field(
        default=100, gt=0, description="events read per business, and deliveries sent, per round"
    )
    webhooks_concurrency: int = Field(
        default=8, gt=0, le=64, description="deliveries one worker sends at once"
    )
    webhooks_timeout_seconds: float = Field(
        default=10, gt=0, le=60, description="how long a receiver has to connect and to answer"
    )
    webhooks_retry_schedule_seconds: list[float] = Field(
        default=[5, 300, 1800, 7200, 18000, *[36000] * 7],
        min_length=1,
        description="the waits before each retry of a failed delivery (JSON list); after the "
        "last one fails the delivery is given up and the endpoint disabled. The default "
        "retries for about three days: 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h seven times",
    )
    webhooks_retention_days: float = Field(
        default=30,
        gt=0,
        description="sent and failed deliveries, with their attempts, are deleted this long "
        "after they were written",
    )
    webhooks_allow_private_urls: bool = Field(
        default=False,
        description="let endpoints be loopback or private-network addresses (tests, the demo, "
        "a receiver on the same host); never in production, where it lets vendors make the "
        "server call inside your network",
    )
    app_url: str = Field(
        default="",
        description="where emailed links (confirm email, reset password, claim a gift) point: "
        "the app's universal-link address; empty: this server's own pages at PUBLIC_URL "
        "(/account/verify-email, /account/reset-password, /shop/claim-gift)",
    )
    password_resets_per_hour: int = Field(
        default=5,
        gt=0,
        description="reset emails one address may be sent an hour (and 4× that asked for "
        "from one network address)",
    )

    @field_validator("billing_currency")
    @classmethod
    def _known_currency(cls, code: str) -> str:
        return currency(code).code  # an unknown code is refused with what to write instead

    @property
    def jwt_secret_file(self) -> Path:
        """The data dir's own signing secret, made when neither setting gives one."""
        return self.data_dir / "secrets" / "jwt.key"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'tillpoint.db').resolve()}"

    @property
    def effective_keys_dir(self) -> Path:
        return self.keys_dir if self.keys_dir is not None else self.data_dir / "keys"


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgresql://`` form and use the psycopg 3 driver for it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
