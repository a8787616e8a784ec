"""A person's inbox, notification preferences and push devices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from ..db import SessionDep
from ..deps import PROBLEM_RESPONSES, CurrentUser
from ..realtime.wakeups import inbox_key
from . import repository, service
from .models import InboxItem
from .schemas import (
    InboxItemPublic,
    InboxPage,
    PreferencePublic,
    PreferencesUpdate,
    PushDeviceCreate,
    PushDevicePublic,
)

router = APIRouter(prefix="/me", tags=["notifications"])


def _item(item: InboxItem) -> InboxItemPublic:
    return InboxItemPublic(
        id=item.id,
        kind=item.kind,
        title=item.title,
        body=item.body,
        created_at=item.created_at,
        read_at=item.read_at,
    )


@router.get("/inbox", summary="Your in-app notifications, newest first")
def inbox(
    user: CurrentUser,
    session: SessionDep,
    unread_only: bool = False,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="where the page starts")] = 0,
    limit: Annotated[int, Query(ge=1, le=200, description="at most this many items")] = 50,
) -> InboxPage:
    items, total = repository.inbox(
        session, user.id, unread_only=unread_only, offset=offset, limit=limit
    )
    return InboxPage.of(
        [_item(item) for item in items], total, offset, limit,
        unread=repository.unread_count(session, user.id),
    )  # fmt: skip


@router.post(
    "/inbox/{item_id}/read",
    summary="Mark an inbox item read (again: no change)",
    responses=PROBLEM_RESPONSES,
)
def mark_read(
    item_id: str, request: Request, user: CurrentUser, session: SessionDep
) -> InboxItemPublic:
    item = service.mark_read(session, user.id, item_id)
    session.commit()
    request.app.state.wakeups.publish(frozenset({inbox_key(user.id)}))  # the unread count
    return _item(item)


def _preferences(preferences: list[service.Preference]) -> list[PreferencePublic]:
    return [
        PreferencePublic(kind=p.kind, channel=p.channel, enabled=p.enabled, required=p.required)
        for p in preferences
    ]


@router.get("/notification-preferences", summary="What you hear about, per kind and channel")
def preferences(user: CurrentUser, session: SessionDep) -> list[PreferencePublic]:
    return _preferences(service.preferences(session, user.id))


@router.put(
    "/notification-preferences",
    summary="Turn kinds on or off per channel; receipts cannot be turned off",
    description="Only the pairs sent change. Turning off a receipt (`required`) refuses the "
    "whole request with 409 `notification-required`.",
    responses=PROBLEM_RESPONSES,
)
def set_preferences(
    body: PreferencesUpdate, user: CurrentUser, session: SessionDep
) -> list[PreferencePublic]:
    changed = service.set_preferences(
        session, user.id, ((p.kind, p.channel, p.enabled) for p in body.preferences)
    )
    session.commit()
    return _preferences(changed)


@router.post(
    "/push-devices",
    status_code=status.HTTP_201_CREATED,
    summary="Register this phone for push notifications",
)
def register_push_device(
    body: PushDeviceCreate, user: CurrentUser, session: SessionDep
) -> PushDevicePublic:
    device = service.register_push_device(session, user.id, body.token)
    session.commit()
    return PushDevicePublic(id=device.id, created_at=device.created_at)
