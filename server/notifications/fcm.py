"""Push through Firebase Cloud Messaging's HTTP v1 API with firebase-admin: Android phones
directly, iPhones through APNs, which FCM reaches for us.

Set `TILLPOINT_PUSH_TRANSPORT=fcm` and `TILLPOINT_FCM_CREDENTIALS_FILE` to the Firebase
project's service-account JSON (without it, Google's application default credentials are
used). One multicast a notification, to every phone the person registered:

- a phone FCM no longer knows (`UnregisteredError`, or a token from another project or
  malformed) is forgotten, so it is not tried again;
- if no phone took it and some failure may pass (quota, FCM unavailable), the notification
  is retried on the outbox's schedule; the collapse key (Android) and `apns-collapse-id`
  (iOS) make a repeat replace the first on the phone.

The phone registers its Firebase installation ID (`POST /me/push-devices {"token": …}`): FCM
has deprecated registration tokens for it. firebase-admin is the `push` extra
(`pip install 'tillpoint[push]'`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..settings import Settings
from .channels import DeliveryError, PushMessage, PushOutcome

__all__ = ["FcmTransport"]


class FcmTransport:
    def __init__(
        self, settings: Settings, send: Callable[[Any], Any] | None = None, app: Any = None
    ) -> None:
        import firebase_admin
        from firebase_admin import credentials, messaging

        self._messaging = messaging
        if app is None and send is None:
            path = settings.fcm_credentials_file
            credential = (
                credentials.Certificate(str(path))
                if path is not None
                else credentials.ApplicationDefault()
            )
            app = firebase_admin.initialize_app(credential, name="tillpoint-push")
        self._app = app
        self._send = send or (
            lambda multicast: messaging.send_each_for_multicast(multicast, app=app)
        )
        # Answers that say a token will never work again: forget it.
        self._gone = (
            messaging.UnregisteredError,
            messaging.SenderIdMismatchError,
            firebase_admin.exceptions.InvalidArgumentError,
        )

    def send(self, message: PushMessage) -> PushOutcome:
        m = self._messaging
        multicast = m.MulticastMessage(
            fids=list(message.tokens),  # FCM addresses app instances by installation id
            notification=m.Notification(title=message.title, body=message.body),
            android=m.AndroidConfig(collapse_key=message.collapse_key, priority="high"),
            apns=m.APNSConfig(headers={"apns-collapse-id": message.collapse_key[:64]}),
        )
        batch = self._send(multicast)
        gone: list[str] = []
        passing: list[str] = []
        for token, answer in zip(message.tokens, batch.responses, strict=True):
            if answer.success:
                continue
            if isinstance(answer.exception, self._gone):
                gone.append(token)
            else:
                passing.append(f"{type(answer.exception).__name__}: {answer.exception}")
        if batch.success_count == 0 and passing:
            raise DeliveryError(f"FCM took it on no phone ({'; '.join(passing)})", gone=tuple(gone))
        return PushOutcome(gone=tuple(gone))
