"""`create_app(settings)`: the one factory the CLI, the demo and the tests all use."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

from anyio import CapacityLimiter
from fastapi import FastAPI
from sqlalchemy import Engine, text

from .accounts.jwt_tokens import TokenSigner, read_secret
from .accounts.passwords import Passwords
from .accounts.router import router as accounts_router
from .accounts.sessions import DenyList, LoginThrottle
from .accounts.verification import CODE_TRIES_PER_MINUTE, Links
from .backoffice.router import router as backoffice_router
from .billing.defaults import ensure_prices
from .billing.router import router as billing_router
from .billing.schedule import BillingSchedule
from .community.router import router as community_router
from .console.router import install_console
from .contests.router import router as contests_router
from .db import make_engine, make_sessionmaker
from .deals.router import router as deals_router
from .devices.router import router as devices_router
from .directory.router import router as directory_router
from .events.recording import when_logs_move
from .fraud.defaults import ensure_rules
from .fraud.router import router as fraud_router
from .gifts.router import router as gifts_router
from .keys.router import router as keys_router
from .keys.startup import open_keyring
from .limits import InputLimits
from .migrate import SchemaWatch
from .notifications import NotificationWorker, PushTransport, make_push_transport
from .notifications.outbox import Outbox
from .notifications.router import router as notifications_router
from .observability import install_observability
from .payments import PaymentGateway, make_gateway
from .preferences.router import router as preferences_router
from .problems import Problem, install_problem_handlers
from .ratelimit import RateLimiter
from .realtime import open_wakeups
from .realtime import router as realtime_router
from .reports.router import router as reports_router
from .routing import include_flat
from .settings import Settings
from .sharedstate import SharedState, open_state
from .shop.router import install_shop
from .tillstaff.router import router as tillstaff_router
from .wallet.limits import MoneyLimits
from .wallet.router import router as wallet_router
from .web.account_pages import install_account_pages
from .webhooks import WebhookWorker
from .webhooks.router import router as webhooks_router

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    gateway: PaymentGateway | None = None,
    today: Callable[[], date] | None = None,
    state: SharedState | None = None,
    push: PushTransport | None = None,
) -> FastAPI:
    """The server app. The schema must already be migrated (`tillpoint server migrate`):
    the settings' database is refused (`SchemaError`) unless its schema is the code's, and
    /healthz fails while it is behind. `engine` replaces that database with the caller's,
    whose schema is the caller's to make (tests make theirs from the models). `gateway`
    replaces the one the settings name (`make_gateway`, which the CLI's billing run
    uses too); `today` is the billing clock (tests walk the calendar with it); `state`
    replaces the rate limits' and sessions' store the settings name (`open_state`); `push`
    the push transport (`make_push_transport`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        wakeups = app.state.wakeups
        wakeups.listeners.attach(asyncio.get_running_loop())
        hearing = asyncio.create_task(wakeups.run(), name="wake-ups")
        schedule = None
        if settings.billing_interval_seconds > 0:
            schedule = BillingSchedule(
                app.state.sessions,
                app.state.gateway,
                app.state.billing_today,
                settings.billing_interval_seconds,
            )
            schedule.start()
        notifier = None
        if settings.notifications_interval_seconds > 0:
            notifier = NotificationWorker(
                app.state.sessions, settings, push=app.state.push, wakeups=app.state.wakeups
            )
            notifier.start(settings.notifications_interval_seconds)
        webhooks = None
        if settings.webhooks_interval_seconds > 0:
            webhooks = WebhookWorker(app.state.sessions, settings)
            webhooks.start(settings.webhooks_interval_seconds)
        yield
        if webhooks is not None:
            webhooks.stop()
        if notifier is not None:
            notifier.stop()
        if schedule is not None:
            schedule.stop()
        await _cancelled(hearing)
        wakeups.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Tillpoint",
        version="1",
        summary="Gift cards and deal vouchers for local businesses",
        description="The REST API for customers' mobile apps and shop terminals. Errors are "
        "RFC 9457 problem+json documents whose `type` is stable.",
    )
    schema = None
    if engine is None:
        engine = make_engine(settings.effective_database_url)
        schema = SchemaWatch(engine)
        try:
            schema.require()  # before anything reads a table the migrations make
        except Exception:
            engine.dispose()
            raise
    app.state.schema = schema
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    # Each commit that moves a business's log wakes the streams following it, everywhere.
    app.state.wakeups = open_wakeups(settings.redis_url, settings.redis_prefix)
    when_logs_move(app.state.sessions, app.state.wakeups.publish)
    app.state.keyring = open_keyring(settings.effective_keys_dir, engine)
    app.state.passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
    jwt_secret = read_secret(
        settings.jwt_secret, settings.jwt_secret_path, settings.jwt_secret_file
    )
    app.state.token_signer = TokenSigner(jwt_secret)
    app.state.money_limits = MoneyLimits.from_settings(settings)
    app.state.gateway = gateway if gateway is not None else make_gateway(settings)
    app.state.push = push if push is not None else make_push_transport(settings)
    app.state.billing_today = today or (lambda: datetime.now(UTC).date())
    with app.state.sessions() as session:
        ensure_prices(session, settings.billing_currency)
        ensure_rules(session)
    shared = state if state is not None else open_state(settings)
    app.state.shared_state = shared
    app.state.login_limiter = RateLimiter(settings.login_attempts_per_minute, 60, shared, "pair")
    app.state.redeem_limiter = RateLimiter(settings.redemptions_per_minute, 60, shared, "redeem")
    app.state.redemption_lane = CapacityLimiter(settings.redemption_threads)  # deps.py
    app.state.purchase_lane = CapacityLimiter(settings.purchase_threads)
    app.state.login_throttle = LoginThrottle(
        shared, settings.login_free_failures, settings.login_backoff_max_seconds
    )
    app.state.deny_list = DenyList(shared)
    # Account mail and security messages: straight into the notifications outbox.
    app.state.outbox = Outbox(email=bool(settings.smtp_host), push=app.state.push is not None)
    app.state.links = Links(settings.app_url, settings.public_url)
    resets = settings.password_resets_per_hour
    app.state.reset_email_limiter = RateLimiter(resets, 3600, shared, "reset-email")
    app.state.reset_address_limiter = RateLimiter(4 * resets, 3600, shared, "reset-address")
    app.state.code_limiter = RateLimiter(CODE_TRIES_PER_MINUTE, 60, shared, "account-code")
    install_problem_handlers(app)
    app.add_middleware(InputLimits, max_body_bytes=settings.max_body_bytes)
    # outermost: it sees what the limits refuse
    install_observability(
        app, API_PREFIX, settings.metrics_token, metrics_elsewhere=settings.metrics_port is not None
    )

    # /healthz first: probes ask it most and it has no path in common with the rest.
    @app.get(
        "/healthz",
        tags=["operations"],
        summary="Liveness, database and schema check",
        responses={503: {"description": "The database's schema is behind the code"}},
    )
    def healthz() -> dict[str, str]:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        mismatch = schema.problem() if schema is not None else None
        # A schema ahead of the code is an upgrade under way: the old workers keep serving.
        if mismatch is not None and not mismatch.code_is_older:
            raise Problem(
                503, "schema-behind", "The database's schema is behind the code", mismatch.detail
            )
        return {"status": "ok", "database": engine.dialect.name}

    for router in (
        accounts_router,
        directory_router,
        keys_router,
        wallet_router,
        gifts_router,
        deals_router,
        devices_router,
        tillstaff_router,
        backoffice_router,
        billing_router,
        fraud_router,
        notifications_router,
        preferences_router,
        community_router,
        contests_router,
        realtime_router,
        webhooks_router,
        reports_router,
    ):
        include_flat(app, router, API_PREFIX)
    install_console(app)  # the operator's web pages at /console
    install_shop(app)  # the gift-card shop's public pages at /shop
    install_account_pages(app)  # confirm an email, reset a password: at /account
    return app


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait for it to end. redis-py (8.1) can swallow a cancellation that
    comes while it connects, so it is asked again until the task ends: a server stopping
    right after it started (its port taken) used to wait for ever."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.2)
    await asyncio.gather(task, return_exceptions=True)  # what it ended with, read
