from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sync.wire import Flag, Line

from ..pages import Page
from ..patches import Body
from .models import Channel, NotificationKind


class InboxItemPublic(BaseModel):
    id: str
    kind: NotificationKind
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


class InboxPage(Page[InboxItemPublic]):
    """One page of the inbox, newest first."""

    unread: int = Field(description="unread items in the whole inbox")


class PreferencePublic(BaseModel):
    kind: NotificationKind
    channel: Channel
    enabled: bool
    required: bool = Field(description="a receipt: cannot be turned off")


class PreferenceChange(Body):
    kind: NotificationKind
    channel: Channel
    enabled: Flag


class PreferencesUpdate(Body):
    preferences: list[PreferenceChange] = Field(max_length=100)


class PushDeviceCreate(Body):
    token: Line = Field(min_length=1, max_length=512, description="the FCM registration token")


class PushDevicePublic(BaseModel):
    id: str
    created_at: datetime
