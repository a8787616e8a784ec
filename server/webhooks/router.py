"""A business owner's webhook endpoints, their secrets, deliveries, resends and test
events."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, status

from ..db import SessionDep, utcnow
from ..deps import PROBLEM_RESPONSES, OwnedBusiness
from ..directory.models import Business
from ..outbox import Delivery
from ..pages import Paging
from . import repository, service
from .event_types import EVENT_TYPES
from .models import WebhookEndpoint
from .schemas import (
    DeliveryDetail,
    DeliveryPage,
    DeliveryPublic,
    EndpointCreate,
    EndpointCreated,
    EndpointPage,
    EndpointPublic,
    EndpointSecret,
    EndpointUpdate,
)

router = APIRouter(tags=["webhooks"])

ENDPOINTS = "/businesses/{business_id}/webhook-endpoints"
ENDPOINT = ENDPOINTS + "/{endpoint_id}"


def _allow_private(request: Request) -> bool:
    return bool(request.app.state.settings.webhooks_allow_private_urls)


def _endpoint(session: SessionDep, business: Business, endpoint_id: str) -> WebhookEndpoint:
    return service.endpoint_of(session, business.id, endpoint_id)


@router.get("/webhooks/event-types", summary="The event types a webhook endpoint can choose")
def event_types() -> list[str]:
    return list(EVENT_TYPES)


@router.post(
    ENDPOINTS,
    status_code=status.HTTP_201_CREATED,
    summary="Register a webhook endpoint for some of your business's events",
    description="Deliveries are signed as Standard Webhooks says, with the `secret` answered "
    "here. The endpoint is sent what happens from now on.",
    responses=PROBLEM_RESPONSES,
)
def create_endpoint(
    business: OwnedBusiness, body: EndpointCreate, request: Request, session: SessionDep
) -> EndpointCreated:
    endpoint = service.register(
        session,
        business.id,
        body.url,
        body.event_types,
        body.description,
        allow_private=_allow_private(request),
        now=utcnow(),
    )
    session.commit()
    return EndpointCreated(**EndpointPublic.of(endpoint).model_dump(), secret=endpoint.secret)


@router.get(ENDPOINTS, summary="Your business's webhook endpoints", responses=PROBLEM_RESPONSES)
def list_endpoints(business: OwnedBusiness, session: SessionDep, paging: Paging) -> EndpointPage:
    found, total = repository.endpoints(session, business.id, paging)
    items = [EndpointPublic.of(e) for e in found]
    return EndpointPage.of(items, total, paging.offset, paging.limit)


@router.get(ENDPOINT, summary="One webhook endpoint", responses=PROBLEM_RESPONSES)
def get_endpoint(business: OwnedBusiness, endpoint_id: str, session: SessionDep) -> EndpointPublic:
    return EndpointPublic.of(_endpoint(session, business, endpoint_id))


@router.patch(
    ENDPOINT,
    summary="Change a webhook endpoint's URL, event types or description; disable or enable it",
    responses=PROBLEM_RESPONSES,
)
def update_endpoint(
    business: OwnedBusiness,
    endpoint_id: str,
    body: EndpointUpdate,
    request: Request,
    session: SessionDep,
) -> EndpointPublic:
    endpoint = _endpoint(session, business, endpoint_id)
    change = service.EndpointChange(body.url, body.event_types, body.description, body.enabled)
    kept = timedelta(days=request.app.state.settings.webhooks_retention_days)
    service.update(
        session, endpoint, change, allow_private=_allow_private(request), now=utcnow(), kept=kept
    )
    session.commit()
    return EndpointPublic.of(endpoint)


@router.delete(
    ENDPOINT,
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook endpoint: it is sent nothing more, what waited is given up",
    responses=PROBLEM_RESPONSES,
)
def delete_endpoint(business: OwnedBusiness, endpoint_id: str, session: SessionDep) -> None:
    endpoint = _endpoint(session, business, endpoint_id)
    service.remove(session, endpoint, utcnow())
    session.commit()


@router.get(
    ENDPOINT + "/secret",
    summary="The endpoint's signing secret (and the one rotated out, while it still signs)",
    responses=PROBLEM_RESPONSES,
)
def get_secret(business: OwnedBusiness, endpoint_id: str, session: SessionDep) -> EndpointSecret:
    return EndpointSecret.of(_endpoint(session, business, endpoint_id), utcnow())


@router.post(
    ENDPOINT + "/secret/rotate",
    summary="A new signing secret; the old one keeps signing beside it for 24 hours",
    responses=PROBLEM_RESPONSES,
)
def rotate_secret(business: OwnedBusiness, endpoint_id: str, session: SessionDep) -> EndpointSecret:
    endpoint = _endpoint(session, business, endpoint_id)
    now = utcnow()
    service.rotate_secret(session, endpoint, now)
    session.commit()
    return EndpointSecret.of(endpoint, now)


@router.post(
    ENDPOINT + "/test",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a `webhook.test` event to this endpoint alone; see it in its delivery log",
    responses=PROBLEM_RESPONSES,
)
def send_test_event(
    business: OwnedBusiness, endpoint_id: str, session: SessionDep
) -> DeliveryPublic:
    endpoint = _endpoint(session, business, endpoint_id)
    delivery = service.send_test(session, endpoint, utcnow())
    session.commit()
    return DeliveryPublic.of(delivery)


@router.get(
    ENDPOINT + "/deliveries",
    summary="The endpoint's deliveries, newest first",
    responses=PROBLEM_RESPONSES,
)
def list_deliveries(
    business: OwnedBusiness,
    endpoint_id: str,
    session: SessionDep,
    paging: Paging,
    status: Delivery | None = None,
) -> DeliveryPage:
    endpoint = _endpoint(session, business, endpoint_id)
    found, total = repository.deliveries(session, endpoint.id, status, paging)
    items = [DeliveryPublic.of(d) for d in found]
    return DeliveryPage.of(items, total, paging.offset, paging.limit)


@router.get(
    ENDPOINT + "/deliveries/{delivery_id}",
    summary="One delivery, its body and every attempt (status, answer, duration)",
    responses=PROBLEM_RESPONSES,
)
def get_delivery(
    business: OwnedBusiness, endpoint_id: str, delivery_id: str, session: SessionDep
) -> DeliveryDetail:
    endpoint = _endpoint(session, business, endpoint_id)
    delivery = service.delivery_of(session, endpoint, delivery_id)
    return DeliveryDetail.with_attempts(delivery, list(repository.attempts(session, delivery.id)))


@router.post(
    ENDPOINT + "/deliveries/{delivery_id}/resend",
    summary="Send a delivery again now (same webhook-id), retried on the schedule if it fails",
    responses=PROBLEM_RESPONSES,
)
def resend_delivery(
    business: OwnedBusiness, endpoint_id: str, delivery_id: str, session: SessionDep
) -> DeliveryPublic:
    endpoint = _endpoint(session, business, endpoint_id)
    delivery = service.resend(session, endpoint, delivery_id, utcnow())
    session.commit()
    return DeliveryPublic.of(delivery)
