"""`tillpoint server ...` and `tillpoint demo-server`, registered through the entry point group."""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sync.cli.common import EXIT_OK, CommandError, Commands

from .settings import Settings, UnusableSettingsError, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from .billing.run import RunSummary
    from .keys.keyring import Keyring
    from .notifications.outbox import Channels
    from .payments import PaymentGateway

DEFAULT_PORT = 8000


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with the command line's choices on top. They are
    also exported, so uvicorn's worker processes build the same app."""
    if getattr(args, "data_dir", None) is not None:
        os.environ["TILLPOINT_DATA_DIR"] = str(args.data_dir)
    if getattr(args, "database_url", None):
        os.environ["DATABASE_URL"] = args.database_url
    if getattr(args, "metrics_port", None) is not None:
        os.environ["TILLPOINT_METRICS_PORT"] = str(args.metrics_port)
    if getattr(args, "metrics_host", None):
        os.environ["TILLPOINT_METRICS_HOST"] = args.metrics_host
    try:
        return load_settings()
    except UnusableSettingsError as exc:  # each wrong one named, with what to set instead
        raise CommandError(str(exc)) from None


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65_535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give a number from 1 to 65535")
    return port


def _add_metrics_options(parser: argparse.ArgumentParser, variable: str) -> None:
    """A process of rounds serves /metrics on a port of its own, named by its own setting:
    the API's (TILLPOINT_METRICS_PORT) would collide on a host that runs them side by side."""
    parser.add_argument(
        "--metrics-port",
        type=_port,
        default=argparse.SUPPRESS,
        metavar="PORT",
        help=f"serve /metrics on this port, without a token (default: ${variable}; none: "
        "no metrics); not with --once",
    )
    parser.add_argument(
        "--metrics-host",
        default=argparse.SUPPRESS,
        metavar="HOST",
        help="address of the metrics port (default: $TILLPOINT_METRICS_HOST or 127.0.0.1)",
    )


def _instant(text: str) -> datetime:
    """An ISO 8601 moment; without a zone, UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date and time: write it like 2027-01-31T09:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _add_database_options(parser: argparse.ArgumentParser, *, action: bool = True) -> None:
    """The options `server` has, and each action again, so that they can come before the
    action or after it. An action's copies default to nothing at all (not None): else their
    default would overwrite what was given before the action."""
    default = argparse.SUPPRESS if action else None
    parser.add_argument(
        "--data-dir", type=Path, default=default, help="folder for the SQLite file and keys"
    )
    parser.add_argument(
        "--database-url",
        default=default,
        help="SQLAlchemy URL (default: $DATABASE_URL or SQLite)",
    )


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    server = commands.add_parser(
        "server",
        help="run the API server; migrate, rotate keys, run jobs and billing, import rates",
        description="Run the Tillpoint API server with uvicorn (the default action).",
    )
    _add_database_options(server, action=False)
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=DEFAULT_PORT)
    server.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (above 1 needs TILLPOINT_REDIS_URL)",
    )
    server.add_argument(
        "--metrics-port",
        type=_port,
        help="serve /metrics on this port of its own, without a token (default: "
        "$TILLPOINT_METRICS_PORT; none: /metrics on the API port, with the metrics token)",
    )
    server.add_argument(
        "--metrics-host",
        help="address of the metrics port (default: $TILLPOINT_METRICS_HOST or 127.0.0.1)",
    )
    server.set_defaults(handler=run_server)
    actions = server.add_subparsers(dest="server_command", metavar="ACTION")

    migrate = actions.add_parser("migrate", help="upgrade the database schema to the newest")
    _add_database_options(migrate)
    migrate.set_defaults(handler=migrate_database)

    keys = actions.add_parser("rotate-keys", help="start signing with a new issuer key")
    _add_database_options(keys)
    keys.set_defaults(handler=rotate_keys)

    jobs = actions.add_parser(
        "run-jobs",
        help="expire cards, holds and deals that are due, finish ended contests (run it from cron)",
        description="Expire gift cards past their date (the rest goes to breakage), release "
        "holds past their time, end deals past their end, and finish contests that have "
        "ended (results, prize cards, messages to the winners); then fold each business's "
        "gift-card liability changes into one row where they have piled up, and refund "
        "payments still owed (purchases refused once paid). Safe to run "
        "again, and from several processes at once.",
    )
    _add_database_options(jobs)
    jobs.add_argument("--at", help="act as if it were this ISO 8601 time (default: now)")
    jobs.set_defaults(handler=run_jobs)

    billing = actions.add_parser(
        "billing-run",
        help="renewals, payment retries, grace periods and plan changes due today",
        description="Invoice new periods and the day before's changes, collect and retry "
        "payments, apply tier changes whose grace is over, suspend businesses whose payment "
        "grace ended. Safe to run twice for a day, and from several processes at once. The "
        "server also runs it on its own every TILLPOINT_BILLING_INTERVAL_SECONDS. Exit 0: "
        "all billed; 1: some businesses not billed (each printed); 2: a setting is wrong; "
        "70: a fault (its traceback printed).",
    )
    _add_database_options(billing)
    billing.add_argument("--at", help="run for this date, YYYY-MM-DD (default: today, UTC)")
    billing.set_defaults(handler=billing_run)

    worker = actions.add_parser(
        "worker",
        help="deliver notifications and webhooks: read the event log into their outboxes and "
        "send what is due",
        description="The notification and webhook workers as their own process (production: "
        "set TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS=0 and TILLPOINT_WEBHOOKS_INTERVAL_SECONDS=0 "
        "on the API so they do not run there too; running several is safe). Rounds every "
        "--interval seconds until stopped.",
    )
    _add_database_options(worker)
    worker.add_argument("--interval", type=float, default=2.0, help="seconds between rounds")
    worker.add_argument("--once", action="store_true", help="one round, then exit")
    worker.add_argument(
        "--heartbeat",
        type=Path,
        default=None,
        metavar="FILE",
        help="touch FILE after each round (a health check watches its age)",
    )
    worker.add_argument(
        "--now",
        type=_instant,
        default=None,
        metavar="ISO-TIME",
        help="with --once: run the round as if it were this moment (e.g. 2027-01-31T09:00Z), "
        "to rehearse reminders; only on a sandbox (TILLPOINT_SANDBOX=true)",
    )
    _add_metrics_options(worker, "TILLPOINT_WORKER_METRICS_PORT")
    worker.set_defaults(handler=run_worker)

    runner = actions.add_parser(
        "jobs",
        help="the job runner: run-jobs' jobs every --interval and the billing run every "
        "--billing-interval, until stopped",
        description="The jobs of `run-jobs` (expiries, ended contests, liability folding, "
        "payments owed back) every --interval seconds, and the billing run of `billing-run` "
        "every --billing-interval seconds, as one process (production: set "
        "TILLPOINT_BILLING_INTERVAL_SECONDS=0 on the API). Each job runs on its own: one that "
        "fails is logged and runs again the next round, and the others still run; a billing "
        "run that fails runs again the next round. Safe to run twice, and beside cron's "
        "`run-jobs`. With --once, exit 0, or 1 when a job failed (its error is printed).",
    )
    _add_database_options(runner)
    runner.add_argument(
        "--interval", type=float, default=300.0, help="seconds between rounds (default 300)"
    )
    runner.add_argument(
        "--billing-interval",
        type=float,
        default=3600.0,
        help="seconds between billing runs (default 3600); 0: every round",
    )
    runner.add_argument(
        "--once", action="store_true", help="one round, billing included, then exit"
    )
    runner.add_argument(
        "--heartbeat",
        type=Path,
        default=None,
        metavar="FILE",
        help="touch FILE after each round in which every job ran (a health check watches its age)",
    )
    _add_metrics_options(runner, "TILLPOINT_JOBS_METRICS_PORT")
    runner.set_defaults(handler=run_job_runner)

    admin = actions.add_parser(
        "create-admin",
        help="make an operator's account for the web console (/console), or promote a customer",
        description="Create an admin account with EMAIL, or make the customer who has it an "
        "admin (their password is kept). Admins must use two-step sign-in: the command prints "
        "a secret for an authenticator app, and the first sign-in at /console with the app's "
        "code turns it on and shows the recovery codes. The password is asked for twice, or "
        "read from one line of standard input with --password-stdin. Running it again for an "
        "admin who has not signed in yet gives a new secret.",
    )
    _add_database_options(admin)
    admin.add_argument("email", help="the admin's email address")
    admin.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (scripts)",
    )
    admin.set_defaults(handler=create_admin)

    rates = actions.add_parser("rates", help="exchange rates for billing in other currencies")
    rate_actions = rates.add_subparsers(dest="rates_command", metavar="ACTION", required=True)
    rates_import = rate_actions.add_parser(
        "import",
        help="store dated rates from a CSV file",
        description="Rows `currency,rate,date`: how much of the currency one unit of the "
        "billing currency (TILLPOINT_BILLING_CURRENCY, default GBP) buys, from that date on "
        "(e.g. EUR,1.1642,2026-11-01). A header row is fine. All or nothing.",
    )
    _add_database_options(rates_import)
    rates_import.add_argument("file", type=Path)
    rates_import.set_defaults(handler=import_rates)


def register_demo(commands: Commands[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo-server",
        help="run only the demo server on SQLite with sample businesses",
        description="Migrate a SQLite database in DATA_DIR (default var/demo), add sample "
        "businesses once, and serve the API.",
    )
    demo.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=DEFAULT_PORT)
    demo.add_argument("--seed-only", action="store_true", help="seed, print, and do not serve")
    demo.set_defaults(handler=run_demo, database_url=None)


def _migrate(settings: Settings) -> None:
    from .migrate import upgrade

    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(
            f"cannot make the data folder {settings.data_dir} ({exc.strerror or exc}): "
            "pass --data-dir with a folder this user can write to"
        ) from None
    url = settings.effective_database_url
    try:
        upgrade(url)
    except Exception as exc:  # the operator needs the reason, not a traceback
        raise CommandError(
            f"cannot migrate {_shown(url)}: {_reason(exc)}. "
            "Check DATABASE_URL and that the database server is running."
        ) from None


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database, or one in memory."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.query.get("uri"):
        return None
    if parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def _shown(url: str) -> str:
    """Where a database is, for a person: a SQLite file's path, else its URL with the
    password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    path = _sqlite_file(url)
    if path is not None:
        return str(path)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "the URL in DATABASE_URL"


def _reason(exc: Exception) -> str:
    """The first line of what the database (its driver) said, without SQLAlchemy's lines
    (the statement, a link)."""
    said = str(getattr(exc, "orig", None) or exc).strip()
    return said.splitlines()[0] if said else type(exc).__name__


def _database(settings: Settings) -> Engine:
    """An engine on the server's database, once it opens and has the tables; else one
    sentence saying where it looked and what to do (an action run with the wrong data
    folder, or none, lands here), and nothing made there: SQLite would make an empty file."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from .accounts.models import User
    from .db import make_engine

    url = settings.effective_database_url
    where, path = _shown(url), _sqlite_file(url)
    if settings.database_url:
        fix = "check DATABASE_URL"
    else:
        fix = "pass --data-dir with the server's data folder, or set DATABASE_URL"
    if path is not None and not path.exists():
        raise CommandError(
            f"there is no database at {path}: {fix}, or make one with `tillpoint server migrate`"
        )
    engine = None
    try:
        engine = make_engine(url)
        with engine.connect() as connection:
            migrated = inspect(connection).has_table(User.__tablename__)
    except (SQLAlchemyError, ValueError) as exc:
        if engine is not None:
            engine.dispose()
        running = "" if path is not None else " and that the database server is running"
        raise CommandError(
            f"cannot open the database at {where} ({_reason(exc)}): {fix}{running}"
        ) from None
    if not migrated:
        engine.dispose()
        raise CommandError(
            f"the database at {where} has no tables: {fix}, or make them with "
            "`tillpoint server migrate`"
        )
    return engine


def _keyring(settings: Settings) -> Keyring:
    """The issuer keys (a first one made if there are none, and no card or voucher in the
    database); a folder that cannot be written, or is damaged, is a sentence, not a traceback."""
    engine = _database(settings)  # first: a wrong data folder gets no keys made in it
    try:
        return _keyring_beside(settings, engine)
    finally:
        engine.dispose()


def _keyring_beside(settings: Settings, engine: Engine) -> Keyring:
    """The issuer keys of the database `engine` opens (`_keyring`), in sentences."""
    from .keys.keyring import KeyringError
    from .keys.startup import open_keyring

    folder = settings.effective_keys_dir
    try:
        return open_keyring(folder, engine)
    except KeyringError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(
            f"cannot open the issuer keys in {folder} ({exc.strerror or exc}): pass --data-dir "
            "with the server's data folder, or set TILLPOINT_KEYS_DIR"
        ) from None


def migrate_database(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _migrate(settings)
    print(f"database is up to date: {_shown(settings.effective_database_url)}")
    return EXIT_OK


def rotate_keys(args: argparse.Namespace) -> int:
    settings = _settings(args)
    key = _keyring(settings).rotate()
    print(f"new signing key {key.kid_text}; earlier keys stay in the trust list")
    return EXIT_OK


def _gateway(settings: Settings) -> PaymentGateway:
    """The server's own payment gateway, from the same settings; one it cannot load is one
    sentence, before anything has run."""
    from .payments import UnknownGatewayError, make_gateway

    try:
        return make_gateway(settings)
    except UnknownGatewayError as exc:
        raise CommandError(str(exc)) from None


def _channels(settings: Settings) -> Channels:
    """What notifications can be sent by, as the settings say (contests tell their winners)."""
    from .notifications import make_push_transport
    from .notifications.outbox import Channels

    return Channels(email=bool(settings.smtp_host), push=make_push_transport(settings) is not None)


def _jobs_done(now: datetime, done: dict[str, int]) -> None:
    from .jobs import describe

    print(f"at {now:%Y-%m-%d %H:%M} UTC: {describe(done)}")


def _billed(day: date, summary: RunSummary) -> None:
    """A billing run's summary, and each business it could not bill."""
    from .jobs import billing_words

    print(f"billing for {day}: {billing_words(summary)}")
    for problem in summary.problems:
        print(f"  not billed: {problem}")


def run_jobs(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from sync.cli.common import parse_time

    from .db import make_sessionmaker
    from .jobs import run_due_jobs

    settings = _settings(args)
    now = parse_time(args.at, "--at") if args.at else datetime.now(UTC)
    gateway = _gateway(settings)  # gives back the payments still owed
    engine = _database(settings)  # first: a wrong data folder gets no keys made in it
    try:
        keyring = _keyring_beside(settings, engine)  # signs contests' prize cards
        with make_sessionmaker(engine)() as session:
            done = run_due_jobs(session, now, keyring, _channels(settings), gateway)
    finally:
        engine.dispose()
    _jobs_done(now, asdict(done))
    return EXIT_OK


def billing_run(args: argparse.Namespace) -> int:
    from .billing.run import run_billing
    from .db import make_sessionmaker

    settings = _settings(args)
    try:
        day = date.fromisoformat(args.at) if args.at else datetime.now(UTC).date()
    except ValueError:
        raise CommandError(f"--at {args.at!r} is not a date like 2026-11-22") from None
    gateway = _gateway(settings)
    engine = _database(settings)
    try:
        sessions = make_sessionmaker(engine)
        _check_prices(sessions, settings)
        summary = run_billing(sessions, day, gateway)
    finally:
        engine.dispose()
    _billed(day, summary)
    return EXIT_OK if not summary.problems else 1


def run_worker(args: argparse.Namespace) -> int:
    _own_metrics()  # before anything imports prometheus_client, which reads it then
    import signal
    import threading

    from .db import make_sessionmaker, utcnow
    from .notifications import NotificationWorker, make_push_transport
    from .observability import log_json_lines
    from .realtime import open_wakeups
    from .webhooks import WebhookWorker

    settings = _settings(args)
    if args.interval <= 0:
        raise CommandError("--interval must be above 0 seconds")
    if args.now is not None and not args.once:
        raise CommandError("--now needs --once: a rehearsal is one round")
    if args.now is not None and not settings.sandbox:
        raise CommandError(
            "--now sets the clock, which only a sandbox allows: set TILLPOINT_SANDBOX=true "
            "on a server that holds no real money"
        )
    port = _metrics_port(args, settings.worker_metrics_port)
    clock = utcnow if args.now is None else (lambda: args.now)
    engine = _database(settings)
    wakeups = open_wakeups(settings.redis_url, settings.redis_prefix)  # apps' inbox streams
    sessions = make_sessionmaker(engine)
    notifier = NotificationWorker(
        sessions,
        settings,
        push=make_push_transport(settings),
        clock=clock,
        wakeups=wakeups,
    )
    webhooks = WebhookWorker(sessions, settings)
    try:
        if port is not None:
            _listen_for_scrapes(settings.metrics_host, port, "TILLPOINT_WORKER_METRICS_PORT")
        if args.once:
            done, sent = notifier.run_once(), webhooks.run_once()
            print(
                f"notifications: {done.events} events read, {done.reminders} reminders due; "
                f"{done.delivery.sent} sent, "
                f"{done.delivery.retrying} to retry, {done.delivery.failed} failed"
            )
            print(
                f"gift emails: {done.gifts.sent} sent, {done.gifts.retrying} to retry, "
                f"{done.gifts.failed} failed"
            )
            print(
                f"gift receipts: {done.receipts.sent} sent, {done.receipts.retrying} to "
                f"retry, {done.receipts.failed} failed"
            )
            print(
                f"webhooks: {sent.events} events read; {sent.delivery.sent} sent, "
                f"{sent.delivery.retrying} to retry, {sent.delivery.failed} failed"
            )
            return EXIT_OK
        log_json_lines("tillpoint")
        stopped = threading.Event()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, lambda *_: stopped.set())
        # Each on its own thread: a slow webhook receiver never holds back an email. The
        # heartbeat says the notifications' rounds finish.
        notifier.start(args.interval, heartbeat=args.heartbeat)
        webhooks.start(args.interval)
        print(
            f"notification and webhook workers: a round every {args.interval:g} s "
            "(Ctrl-C stops them)"
        )
        while not stopped.wait(1):
            pass
    finally:
        notifier.stop()
        webhooks.stop()
        wakeups.close()
        engine.dispose()
    return EXIT_OK


def run_job_runner(args: argparse.Namespace) -> int:
    _own_metrics()  # before anything imports prometheus_client, which reads it then
    import signal
    import threading

    from .billing.run import run_billing
    from .db import make_sessionmaker
    from .jobs import JobRunner, JobsFailed, JobsRound, due_jobs
    from .observability import log_json_lines

    settings = _settings(args)
    if args.interval <= 0:
        raise CommandError("--interval must be above 0 seconds")
    if args.billing_interval < 0:
        raise CommandError("--billing-interval must be 0 (every round) or more seconds")
    port = _metrics_port(args, settings.jobs_metrics_port)
    gateway = _gateway(settings)
    engine = _database(settings)  # first: a wrong data folder gets no keys made in it
    runner = None
    try:
        keyring = _keyring_beside(settings, engine)  # signs contests' prize cards
        sessions = make_sessionmaker(engine)
        _check_prices(sessions, settings)
        runner = JobRunner(
            sessions,
            due_jobs(keyring, _channels(settings), gateway),
            lambda day: run_billing(sessions, day, gateway),
            args.billing_interval,
        )
        if port is not None:
            _listen_for_scrapes(settings.metrics_host, port, "TILLPOINT_JOBS_METRICS_PORT")
        if args.once:
            now = datetime.now(UTC)
            failed = None
            try:
                done = runner.run_once()
            except JobsFailed as exc:
                failed, done = exc, exc.done or JobsRound({})
            _jobs_done(now, done.done)  # what ran, a round with a failed job too
            if done.billing is not None:
                _billed(now.date(), done.billing)
            if failed is not None:
                raise CommandError(str(failed), exit_code=1)
            return EXIT_OK
        log_json_lines("tillpoint")
        stopped = threading.Event()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, lambda *_: stopped.set())
        runner.start(args.interval, heartbeat=args.heartbeat)
        print(
            f"job runner: a round every {args.interval:g} s, billing every "
            f"{args.billing_interval:g} s (Ctrl-C stops it)",
            flush=True,
        )
        while not stopped.wait(1):
            pass
    finally:
        if runner is not None:
            runner.stop()
        engine.dispose()
    return EXIT_OK


def _metrics_port(args: argparse.Namespace, configured: int | None) -> int | None:
    """The port a process of rounds serves /metrics on: --metrics-port, else its setting
    (`configured`). None with --once, which exits before anything scrapes it; the setting
    is then left aside, so a one-off round beside the running process never collides."""
    if args.once:
        if args.metrics_port is not None:
            raise CommandError(
                "--metrics-port is for a process that keeps running: --once exits before "
                "anything scrapes it; leave one of them out"
            )
        return None
    return args.metrics_port if args.metrics_port is not None else configured


def _listen_for_scrapes(host: str, port: int, variable: str) -> None:
    """/metrics on `port` from a thread of this process; a port that cannot be had is one
    sentence (exit 2), not a traceback."""
    from .observability import serve_metrics

    try:
        serve_metrics(host, port)
    except OSError as exc:
        raise CommandError(
            f"cannot serve metrics on {host}:{port} ({exc.strerror or exc}): choose another "
            f"--metrics-port (or {variable})"
        ) from None


def _own_metrics() -> None:
    """A process of rounds (the worker, the job runner) is one process: its /metrics is its
    own registry. PROMETHEUS_MULTIPROC_DIR, inherited from an environment shared with an API
    of several workers, would make it write its metrics into the API's folder (the API's
    /metrics would add them up) and serve the API's with its own."""
    for name in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        os.environ.pop(name, None)


def _check_prices(sessions: Callable[[], Session], settings: Settings) -> None:
    """The price list exists, in the billing currency (as the server makes sure too)."""
    from .billing.defaults import PriceListError, ensure_prices

    with sessions() as session:
        try:
            ensure_prices(session, settings.billing_currency)
        except PriceListError as exc:
            raise CommandError(str(exc)) from None


def import_rates(args: argparse.Namespace) -> int:
    from .billing.rates import RateError
    from .billing.rates import import_rates as read_rates
    from .db import make_sessionmaker

    settings = _settings(args)
    if not args.file.is_file():
        raise CommandError(f"{args.file} is not a file: give the CSV of rates")
    engine = _database(settings)
    try:
        sessions = make_sessionmaker(engine)
        _check_prices(sessions, settings)
        with sessions() as session:
            try:
                count = read_rates(session, args.file, base=settings.billing_currency)
            except RateError as exc:
                raise CommandError(f"nothing imported: {exc}") from None
            session.commit()
    finally:
        engine.dispose()
    print(f"imported {count} rates from {args.file}")
    return EXIT_OK


def _read_password(args: argparse.Namespace) -> str:
    import getpass
    import sys

    from .accounts.passwords import MIN_LENGTH

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password for the new admin: ")
        if getpass.getpass("The same password again: ") != password:
            raise CommandError("the two passwords differ: nothing was created")
    else:
        raise CommandError("no terminal to ask for a password: pipe it in with --password-stdin")
    if not MIN_LENGTH <= len(password) <= 200:
        raise CommandError(f"the password must have {MIN_LENGTH} to 200 characters")
    return password


def create_admin(args: argparse.Namespace) -> int:
    from email_validator import EmailNotValidError, validate_email

    from .accounts import admins, repository
    from .accounts.passwords import Passwords
    from .db import make_sessionmaker
    from .errors import DomainError

    settings = _settings(args)
    try:
        email = validate_email(args.email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise CommandError(f"{args.email!r} is not an email address: {exc}") from None
    engine = _database(settings)
    try:
        with make_sessionmaker(engine)() as session:
            known = repository.find_user_by_email(session, email) is not None
            password = None if known else _read_password(args)
            passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
            try:
                setup = admins.create_or_promote(
                    session, email, password, passwords, datetime.now(UTC)
                )
            except DomainError as exc:
                raise CommandError(f"nothing changed: {exc.detail}") from None
            session.commit()
    finally:
        engine.dispose()
    # The server's address is known only when TILLPOINT_PUBLIC_URL says it (the server may
    # run on any port, behind any proxy): otherwise a placeholder, never a guess.
    known = "public_url" in settings.model_fields_set
    console = f"{settings.public_url.rstrip('/')}/console" if known else "<your server>/console"
    done = "created" if setup.created else "is now an admin (password unchanged)"
    print(f"{email} {done}.")
    if setup.enrolment is None:
        print(f"Two-step sign-in is on already: sign in at {console}")
        return EXIT_OK
    print("Two-step sign-in, which admins must use:")
    print("  1. In an authenticator app (Google Authenticator, Aegis, 1Password…), add an")
    print(f"     account with this secret: {setup.enrolment.secret}")
    print(f"     (or make a QR code of: {setup.enrolment.uri})")
    print(f"  2. Sign in at {console} with the email, the password and the app's code.")
    print("     That first code turns two-step sign-in on; keep the recovery codes it shows.")
    if not known:
        print("     (<your server> is the address the server is reached at, as in a browser.)")
    return EXIT_OK


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from .asgi import STARTUP_REPORT

    _check_start(settings)
    # A worker that cannot start all the same writes why here and exits with uvicorn's
    # startup failure, which stops the server rather than starting the worker again.
    folder = tempfile.mkdtemp(prefix="tillpoint-start-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    report = Path(folder) / "reason"
    os.environ[STARTUP_REPORT] = str(report)
    if settings.metrics_port is not None:
        _serve_metrics(settings, settings.metrics_port, workers)
    try:
        uvicorn.run(
            "server.asgi:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=False,  # each request's JSON line (server/observability.py) says more
        )
    except SystemExit:  # one worker that did not start (a port in use: uvicorn said why)
        _worker_failed(report)
        raise
    _worker_failed(report)


def _worker_failed(report: Path) -> None:
    try:
        reason = report.read_text().strip()
    except FileNotFoundError:
        return
    raise CommandError(f"a worker could not start: {reason}")


def _check_start(settings: Settings) -> None:
    """What would stop every worker at its start, checked once before uvicorn starts them:
    one sentence and exit 2, not a traceback from each worker, started again for ever."""
    from .accounts.jwt_tokens import read_secret
    from .db import make_sessionmaker
    from .migrate import schema_problem
    from .sharedstate import StateUnavailableError, open_state

    engine = _database(settings)  # opened once for every check that reads it
    try:
        with engine.connect() as connection:
            mismatch = schema_problem(connection)
        if mismatch is not None:
            raise CommandError(mismatch.detail)
        _check_prices(make_sessionmaker(engine), settings)  # made once, not by every worker
        try:
            read_secret(settings.jwt_secret, settings.jwt_secret_path, settings.jwt_secret_file)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(
                f"cannot make the JWT secret {settings.jwt_secret_file} ({exc.strerror or exc}):"
                " pass --data-dir with a folder this user can write to, or set "
                "TILLPOINT_JWT_SECRET"
            ) from None
        _gateway(settings)
        try:
            open_state(settings)
        except StateUnavailableError as exc:
            raise CommandError(str(exc)) from None
        _keyring_beside(settings, engine)  # its first key made once, not by every worker
    finally:
        engine.dispose()


def _serve_metrics(settings: Settings, port: int, workers: int) -> None:
    """/metrics on its own port, from this (the main) process. Several workers write their
    metrics to files this process adds up: a fresh folder, unless the operator gave one."""
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="tillpoint-metrics-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    _listen_for_scrapes(settings.metrics_host, port, "TILLPOINT_METRICS_PORT")


def run_server(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.workers > 1 and not settings.redis_url:
        # Each worker would keep its own rate limits, login throttles and deny list:
        # limits would multiply by the workers, and a signed-out token work on the others.
        raise CommandError(
            f"--workers {args.workers} needs state the workers share: set "
            "TILLPOINT_REDIS_URL (or REDIS_URL) to a Redis they all reach, e.g. "
            "redis://127.0.0.1:6379/0, or run one worker"
        )
    _serve(settings, args.host, args.port, args.workers)
    return EXIT_OK


def run_demo(args: argparse.Namespace) -> int:
    from .accounts.passwords import Passwords
    from .db import make_engine, make_sessionmaker
    from .demo import DEMO_LOGINS, DEMO_PASSWORD, DEMO_PINS, seed_demo
    from .keys.keyring import Keyring

    os.environ.pop("DATABASE_URL", None)  # the demo is always its own SQLite file
    # Its visitors try webhooks with a receiver on their own machine (docs/operations.md).
    os.environ.setdefault("TILLPOINT_WEBHOOKS_ALLOW_PRIVATE_URLS", "true")
    # Its emails' links and the console's address name the port it serves on.
    os.environ.setdefault("TILLPOINT_PUBLIC_URL", f"http://{args.host}:{args.port}")
    sink = None
    if not args.seed_only and not os.environ.get("TILLPOINT_SMTP_HOST"):
        from .mailsink import start_mail_sink

        # Its emails go to files: a mail sink on loopback, read by the server's worker.
        sink = start_mail_sink(args.data_dir / "mail")
        os.environ["TILLPOINT_SMTP_HOST"] = "127.0.0.1"
        os.environ["TILLPOINT_SMTP_PORT"] = str(sink.port)
    settings = _settings(args)
    _migrate(settings)
    keyring = Keyring.open(settings.effective_keys_dir)
    passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
    engine = make_engine(settings.effective_database_url)
    with make_sessionmaker(engine)() as session:
        summary = seed_demo(
            session, keyring, passwords, settings.data_dir / "qr", settings.billing_currency
        )
    engine.dispose()
    base = f"http://{args.host}:{args.port}"
    state = "added" if summary.created else "already there"
    print(
        f"Tillpoint demo — data in {settings.data_dir}/ ({summary.businesses} businesses {state})"
    )
    print(f"  API docs:     {base}/docs")
    print(f"  directory:    {base}/api/v1/businesses?q=cafe")
    print(f"  deals:        {base}/api/v1/deals")
    print(f"  trust list:   {base}/api/v1/trust-list")
    print(
        f"  console:      {base}/console (an admin first: tillpoint server create-admin "
        f"EMAIL --data-dir {args.data_dir})"
    )
    if summary.cafe_id:
        print(f"  shop:         {base}/shop/{summary.cafe_id} (the café's gift cards; test cards)")
    print(f"  sign in (POST {base}/api/v1/auth/login), password {DEMO_PASSWORD!r}:")
    for role, email in DEMO_LOGINS.items():
        print(f"    {role:<9} {email}")
    pins = ", ".join(f"{name} {pin} ({role})" for name, role, pin in DEMO_PINS.values())
    print(f"  till PINs at the terminal: {pins}")
    if summary.qr_codes:
        print(f"  QR codes of the customer's cards and voucher, in {summary.qr_codes[0].parent}/:")
        for path in summary.qr_codes:
            print(f"    {path.name}")
    if sink is not None:
        print(f"  mail:         every email the demo sends is a file in {args.data_dir / 'mail'}/")
    print("  stop with Ctrl+C; start afresh by deleting the data folder")
    try:
        if not args.seed_only:
            _serve(settings, args.host, args.port, 1)
    finally:
        if sink is not None:
            sink.stop()
    return EXIT_OK
