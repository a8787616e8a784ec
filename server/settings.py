"""Server settings from the environment (prefix ``TILLPOINT_``), built on first use."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from types import UnionType
from typing import Union, get_args, get_origin

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from sync.money import currency

__all__ = [
    "DEFAULT_BILLING_CURRENCY",
    "Settings",
    "UnusableSettingsError",
    "get_settings",
    "load_settings",
    "unusable_settings",
]

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
    smtp_port: int = Field(default=25, ge=1, le=65_535)
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

    @field_validator("metrics_port", "worker_metrics_port", "jobs_metrics_port", mode="before")
    @classmethod
    def _empty_is_no_port(cls, value: object) -> object:
        return None if value == "" else value  # `TILLPOINT_METRICS_PORT=`: no metrics port

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


class UnusableSettingsError(ValueError):
    """Settings in the environment that cannot be used. The message says, in one line, each
    one that is wrong, named as the operator set it (TILLPOINT_SMTP_PORT, DATABASE_URL), and
    what to set instead; a secret's value is never in it."""


def load_settings() -> Settings:
    """The settings from the environment; UnusableSettingsError when some cannot be used."""
    try:
        return Settings()
    except ValidationError as exc:
        raise UnusableSettingsError(unusable_settings(exc)) from None
    except SettingsError as exc:  # a list that is not JSON, before any validation
        named = re.search(r'field "(\w+)"', str(exc))
        if named is None:
            raise UnusableSettingsError(f"{exc}: correct the setting it names") from None
        raise UnusableSettingsError(_sentence(_field_of(named[1]), None, "")) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()


def unusable_settings(error: ValidationError) -> str:
    """What is wrong with the settings, in one line: for each setting `error` finds wrong,
    one sentence naming the variable as it is set in the environment, with its value (never
    a secret's) and what to set instead."""
    said: dict[str, str] = {}
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else ""
        field = _field_of(name)
        reason = ""
        if problem["type"] == "value_error":  # our validators' messages say what to write
            reason = str(problem.get("ctx", {}).get("error", problem["msg"]))
        said.setdefault(field or name, _sentence(field, problem.get("input"), reason, name))
    return "; ".join(said.values())


def _field_of(name: str) -> str | None:
    """The field an error's location names: its own name, or one of its aliases."""
    for field, info in Settings.model_fields.items():
        if name == field or name in _names(field, info):
            return field
    return None


def _names(field: str, info: FieldInfo) -> list[str]:
    """The environment variables a field is read from, in the order they are looked at."""
    alias = info.validation_alias
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"{Settings.model_config.get('env_prefix', '')}{field}".upper()]


def _sentence(field: str | None, value: object, reason: str, named: str = "") -> str:
    """What is wrong with one setting and what to do, e.g. "TILLPOINT_SMTP_PORT is '-5':
    set a whole number from 1 to 65535, or unset it for the default (25)". `named`: the
    name the error is under."""
    if field is None:  # not a setting of ours: say what pydantic said
        return f"a setting cannot be used ({reason or value!r}): correct it in the environment"
    info = Settings.model_fields[field]
    variable, set_to = _as_set(_names(field, info), value, named)
    shown = set_to if set_to is not None else value
    secret = info.annotation is SecretStr or not info.repr
    if secret:
        what = f"{variable} cannot be used (its value is not shown)"
    elif shown == "":
        what = f"{variable} is empty"
    elif reason and repr(str(shown)) in reason:  # "unknown currency 'XYZ': use …"
        what = variable
    else:
        what = f"{variable} is {str(shown)!r}"
    if reason:
        return f"{what}: {reason}"
    default = info.default
    if default is None:
        otherwise = "or leave it empty for none"
    elif secret or default == "" or not isinstance(default, bool | int | float | str | Path):
        otherwise = "or unset it for the default"
    else:
        otherwise = f"or unset it for the default ({_number(default)})"
    return f"{what}: set {_expected(info)}, {otherwise}"


def _as_set(names: list[str], failed: object, named: str) -> tuple[str, str | None]:
    """The variable whose value failed, spelt as the operator spelt it, and its value there
    (names are not case-sensitive): the one set to `failed`, pydantic's input. When none is
    set to it, the value was not read as written: it was given under `named` (a keyword in
    code) if that is one of the names, else read from the first one set (a JSON list is
    decoded before it fails)."""
    found = [
        (variable, value)
        for name in names
        for variable, value in os.environ.items()
        if variable.upper() == name.upper()
    ]
    for variable, value in found:
        if value == failed:
            return variable, value
    if failed is not None and named.upper() in (name.upper() for name in names):
        return named, None
    return found[0] if found else (names[0], None)


def _expected(info: FieldInfo) -> str:
    """What a field takes, in words: "a whole number from 1 to 65535"."""
    kind = info.annotation
    if get_origin(kind) in (Union, UnionType):  # `int | None`: what it takes when set
        kind = next(part for part in get_args(kind) if part is not type(None))
    if get_origin(kind) is list:
        return "a JSON list of numbers, such as [5, 300]"
    if kind is bool:
        return "true or false"
    noun = "a whole number" if kind is int else "a number" if kind is float else "a value"
    bounds = {
        bound: _number(getattr(rule, bound))
        for rule in info.metadata
        for bound in ("gt", "ge", "lt", "le")
        if getattr(rule, bound, None) is not None
    }
    if "ge" in bounds and "le" in bounds:
        return f"{noun} from {bounds['ge']} to {bounds['le']}"
    words = {"gt": "above {}", "ge": "of {} or more", "lt": "below {}", "le": "up to {}"}
    limits = " and ".join(words[bound].format(limit) for bound, limit in bounds.items())
    return f"{noun} {limits}".strip()


def _number(value: object) -> str:
    """As an operator writes it: 25, 0.5, 60 (not 60.0), false."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)
