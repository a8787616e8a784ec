"""The event streams: terminals hear "changes are waiting: pull now", customers' apps hear
their cards' balances and their inbox, anyone a deal's stock and end. Server-Sent Events;
resume with `Last-Event-ID`.

A stream holds no database connection while it waits: it signs the caller in with a
session of its own, closed at once, and each read of the log takes one briefly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent

from ..deps import signed_in
from ..devices.auth import device_from_header
from .deal_stream import deal_business, deal_changes
from .inbox_stream import inbox_changes, parse_inbox_state
from .streams import card_changes, changes_waiting, parse_terminal_position

__all__ = ["PING_SECONDS", "router"]

router = APIRouter(tags=["real time"])

PING_SECONDS = 15  # a comment line: proxies and clients see the connection is alive
SEND_TIMEOUT_SECONDS = 30  # a client that stopped reading is let go

LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=20_000,
        description="the id of the last event received, to resume after it",
    ),
]
_STREAMED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "a stream of server-sent events, open until the client or the server "
        "ends it (docs/sync-protocol.md)",
        "content": {"text/event-stream": {}},
    }
}
_bearer = HTTPBearer(auto_error=False, description="an access token from /api/v1/auth/login")


def _stream(events: AsyncIterator[ServerSentEvent]) -> EventSourceResponse:
    return EventSourceResponse(
        events,
        ping=PING_SECONDS,
        send_timeout=SEND_TIMEOUT_SECONDS,
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/sync/stream",
    summary="Server-sent events: changes are waiting for this terminal, pull now",
    response_class=EventSourceResponse,
    responses=_STREAMED,
)
async def terminal_stream(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    sessions: sessionmaker[Session] = request.app.state.sessions

    def business_of_device() -> str:
        with sessions() as session:
            return device_from_header(session, authorization).business_id

    business_id = await anyio.to_thread.run_sync(business_of_device)
    events = changes_waiting(
        sessions,
        request.app.state.wakeups.listeners,
        business_id,
        parse_terminal_position(last_event_id),
    )
    return _stream(events)


async def _user_id(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    """Who the bearer token signs in, checked with a session of its own, closed at once."""
    sessions: sessionmaker[Session] = request.app.state.sessions

    def user_id() -> str:
        with sessions() as session:
            return signed_in(request, session, credentials).user.id

    return await anyio.to_thread.run_sync(user_id)


@router.get(
    "/me/stream",
    summary="Server-sent events: your cards' balances and status as they change",
    response_class=EventSourceResponse,
    responses=_STREAMED,
)
async def my_stream(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    sessions: sessionmaker[Session] = request.app.state.sessions
    events = card_changes(
        sessions,
        request.app.state.wakeups.listeners,
        await _user_id(request, credentials),
        last_event_id,
    )
    return _stream(events)


@router.get(
    "/me/inbox/stream",
    summary="Server-sent events: your inbox's unread count and newest item as it changes",
    response_class=EventSourceResponse,
    responses=_STREAMED,
)
async def my_inbox_stream(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    sessions: sessionmaker[Session] = request.app.state.sessions
    events = inbox_changes(
        sessions,
        request.app.state.wakeups.listeners,
        await _user_id(request, credentials),
        parse_inbox_state(last_event_id),
    )
    return _stream(events)


@router.get(
    "/deals/{deal_id}/stream",
    summary="Server-sent events: a deal's vouchers left and its end, as they change",
    response_class=EventSourceResponse,
    responses=_STREAMED,
)
async def deal_stream(request: Request, deal_id: str) -> EventSourceResponse:
    sessions: sessionmaker[Session] = request.app.state.sessions
    business_id = await anyio.to_thread.run_sync(deal_business, sessions, deal_id)
    return _stream(
        deal_changes(sessions, request.app.state.wakeups.listeners, deal_id, business_id)
    )
