"""Push through FCM: the adapter builds FCM HTTP v1 multicasts with firebase-admin and reads
its answers; phones FCM no longer knows are forgotten. FCM itself is outside this machine:
the send call is replaced by one that answers as FCM does (firebase-admin's own response and
error types)."""

from __future__ import annotations

import pytest
from firebase_admin import exceptions, messaging
from sqlalchemy import select

from server.notifications import NotificationWorker, PushDevice
from server.notifications.channels import DeliveryError, PushMessage
from server.notifications.fcm import FcmTransport
from tests.server.api import buy_card


class FakeFcm:
    """Answers each token as told: 'ok', 'unregistered', 'invalid' or 'unavailable'."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.sent: list[messaging.MulticastMessage] = []

    def __call__(self, multicast: messaging.MulticastMessage) -> messaging.BatchResponse:
        self.sent.append(multicast)
        responses = []
        for token in multicast.fids:
            answer = self.answers.get(token, "ok")
            if answer == "ok":
                responses.append(
                    messaging.SendResponse({"name": f"projects/p/messages/{token}"}, None)
                )
            elif answer == "unregistered":
                responses.append(messaging.SendResponse(None, messaging.UnregisteredError("gone")))
            elif answer == "invalid":
                error = exceptions.InvalidArgumentError("not a registration token")
                responses.append(messaging.SendResponse(None, error))
            else:
                error = exceptions.UnavailableError("FCM is unavailable")
                responses.append(messaging.SendResponse(None, error))
        return messaging.BatchResponse(responses)


def transport(settings, answers: dict[str, str]) -> tuple[FcmTransport, FakeFcm]:
    fcm = FakeFcm(answers)
    return FcmTransport(settings, send=fcm), fcm


def test_one_multicast_to_every_phone_with_a_collapse_key(settings):
    push, fcm = transport(settings, {})
    outcome = push.send(
        PushMessage(("phone-a", "phone-b"), "Receipt", "£4.20 spent", "notification-7")
    )
    assert outcome.gone == ()
    [sent] = fcm.sent
    assert sent.fids == ["phone-a", "phone-b"]
    assert (sent.notification.title, sent.notification.body) == ("Receipt", "£4.20 spent")
    assert sent.android.collapse_key == "notification-7"
    assert sent.apns.headers == {"apns-collapse-id": "notification-7"}
    # What goes on the wire is FCM's own JSON, built by firebase-admin.
    wire = messaging._MessagingService.encode_message(
        messaging.Message(fid="phone-a", notification=sent.notification, android=sent.android)
    )
    assert wire["android"]["collapse_key"] == "notification-7"


def test_phones_fcm_no_longer_knows_are_named_to_be_forgotten(settings):
    push, _ = transport(settings, {"old": "unregistered", "typo": "invalid"})
    outcome = push.send(PushMessage(("old", "new", "typo"), "t", "b", "k"))
    assert set(outcome.gone) == {"old", "typo"}


def test_no_phone_taking_it_for_a_passing_reason_is_tried_again(settings):
    push, _ = transport(settings, {"a": "unavailable", "b": "unregistered"})
    with pytest.raises(DeliveryError) as failed:
        push.send(PushMessage(("a", "b"), "t", "b", "k"))
    assert "UnavailableError" in str(failed.value)
    assert failed.value.gone == ("b",)  # forgotten even so


def test_the_worker_forgets_phones_fcm_says_are_gone(
    client, sessions, notify_settings, shop, customer
):
    for token in ("phone-kept", "phone-gone"):
        assert customer.post("/api/v1/me/push-devices", {"token": token}).status_code == 201
    push, fcm = transport(notify_settings, {"phone-gone": "unregistered"})
    worker = NotificationWorker(sessions, notify_settings, push=push)
    assert buy_card(customer, shop, 1000).status_code == 201
    worker.run_once()
    assert sorted(fcm.sent[0].fids) == ["phone-gone", "phone-kept"]
    with sessions() as session:
        left = set(
            session.scalars(select(PushDevice.token).where(PushDevice.user_id == customer.id))
        )
    assert left == {"phone-kept"}
    assert buy_card(customer, shop, 1000).status_code == 201
    worker.run_once()
    assert fcm.sent[-1].fids == ["phone-kept"]  # not tried again
