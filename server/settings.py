"""Server settings from the environment (prefix ``TILLPOINT_``), built on first use."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
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
    login_attempts_per_minute: int = 10
    redemptions_per_minute: int = 120
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

    @field_validator("billing_currency")
    @classmethod
    def _known_currency(cls, code: str) -> str:
        return currency(code).code  # an unknown code is refused with what to write instead

    @property
    def jwt_secret_file(self) -> Path:
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
