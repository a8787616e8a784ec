from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy.orm import Session

from sync.allocation import cyclic_gc_paused
from sync.money import Money
from sync.wire import (
    ChangesPage,
    DeviceCredentials,
    IncidentKind,
    MoneyPublic,
    OfflineLimitsBody,
    PairingCodeCreate,
    PairingCodePublic,
    PairRequest,
    PushRequest,
    PushResponse,
    RedemptionPublic,
    SnapshotPage,
    TerminalRedemption,
    TerminalVoucherRedemption,
    VoucherPublic,
)

from ..db import SessionDep, utcnow
from ..deals import service as deals
from ..deals.schemas import voucher_public
from ..deps import (
    IdempotencyKey,
    ManagedBusiness,
    OwnedBusiness,
    StaffBusiness,
    checked_first_in,
    in_redemption_lane,
    owned,
    reply,
)
from ..directory.models import Business
from ..fraud import service as fraud
from ..fraud.client import client_of
from ..pages import Paging
from ..wallet.idempotency import Outcome, idempotent
from ..wallet.schemas import redemption_public
from ..wallet.tokens import PresentedCode, read_code
from . import lists, redemptions, revoked_pushes, service
from .auth import device_from_header, paired_device, revoked, scope_of, terminal_till
from .models import Device, Incident, RedeemedItem
from .pull import changes_since, offline_limits, resume_from, snapshot_json
from .reconcile import apply_events
from .schemas import DevicePage, DevicePublic, IncidentPage, IncidentPublic, IncidentResolve

router = APIRouter(tags=["terminals"])


@router.post(
    "/businesses/{business_id}/pairing-codes",
    status_code=201,
    summary="A one-time code to pair a terminal with your business",
)
def create_pairing_code(
    business: OwnedBusiness,
    session: SessionDep,
    body: PairingCodeCreate | None = None,
) -> PairingCodePublic:
    branch_id = body.branch_id if body is not None else None
    code = service.create_pairing_code(session, business.id, branch_id)
    session.commit()
    return code


@router.post("/devices/pair", status_code=201, summary="Pair a terminal with a pairing code")
def pair(body: PairRequest, request: Request, session: SessionDep) -> DeviceCredentials:
    address = request.client.host if request.client else "unknown"
    request.app.state.login_limiter.hit(f"pair:{address}", "pairing")
    credentials = service.pair(session, body)
    session.commit()
    return credentials


def current_device(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Device:
    return device_from_header(session, authorization)


CurrentDevice = Annotated[Device, Depends(current_device)]


def pushing_device(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Device:
    return paired_device(session, authorization)


@router.post("/sync/push", summary="Push a terminal's outbox; answers per event")
def push(
    body: PushRequest, device: Annotated[Device, Depends(pushing_device)], session: SessionDep
) -> PushResponse:
    events = [e.event() for e in body.events]
    if device.revoked_at is not None:
        # Refused, as every call of a revoked till; what it sent is told to the owner once.
        revoked_pushes.report(session, device.id, events)
        raise revoked()
    return PushResponse(results=apply_events(session, device, events))


def _device_public(device: Device) -> DevicePublic:
    return DevicePublic(
        id=device.id,
        name=device.name,
        created_at=device.created_at,
        last_seen_at=device.last_seen_at,
        revoked=device.revoked_at is not None,
        branch_id=device.branch_id,
    )


@router.get(
    "/businesses/{business_id}/devices",
    summary="Your paired terminals",
    description="Oldest first; `revoked=false` keeps those still syncing, `branch_id` one "
    "branch's.",
)
def list_devices(
    business: ManagedBusiness,
    session: SessionDep,
    paging: Paging,
    revoked: bool | None = None,
    branch_id: Annotated[str | None, Query(max_length=22)] = None,
) -> DevicePage:
    devices, total = lists.terminals(
        session, business.id, revoked, branch_id, paging.offset, paging.limit
    )
    return DevicePage.of([_device_public(d) for d in devices], total, paging.offset, paging.limit)


@router.post(
    "/businesses/{business_id}/devices/{device_id}/revoke",
    summary="Stop a terminal from syncing (lost or stolen)",
)
def revoke_device(business: OwnedBusiness, device_id: str, session: SessionDep) -> DevicePublic:
    device = owned(session, Device, device_id, business.id, kind="device", noun="terminal")
    device.revoked_at = device.revoked_at or datetime.now(UTC)
    session.commit()
    return _device_public(device)


def _incident_public(incident: Incident, device: Device | None = None) -> IncidentPublic:
    return IncidentPublic(
        id=incident.id,
        kind=incident.kind,
        subject_id=incident.subject_id,
        amount_minor=incident.amount_minor,
        currency=incident.currency,
        detail=incident.detail,
        created_at=incident.created_at,
        resolved_at=incident.resolved_at,
        resolution=incident.resolution,
        event_id=incident.event_id,
        device_id=None if device is None else device.id,
        till=None if device is None else device.name,
    )


@router.get(
    "/businesses/{business_id}/incidents",
    summary="What offline sync flagged",
    description="Oldest first, each naming the till and the pushed event that raised it; "
    "filter by `kind`, `resolved` and `device_id`. `shortfall` adds up what offline "
    "overspends cost the business.",
)
def list_incidents(
    business: StaffBusiness,
    session: SessionDep,
    paging: Paging,
    kind: IncidentKind | None = None,
    resolved: bool | None = None,
    device_id: Annotated[str | None, Query(max_length=22)] = None,
) -> IncidentPage:
    rows, total = lists.incidents(
        session, business.id, kind, resolved, device_id, paging.offset, paging.limit
    )
    return IncidentPage.of(
        [_incident_public(r.incident, r.device) for r in rows],
        total,
        paging.offset,
        paging.limit,
        shortfall=[
            MoneyPublic.of(Money.of(minor, currency))
            for currency, minor in lists.shortfalls(session, business.id).items()
        ],
    )


@router.post(
    "/businesses/{business_id}/incidents/{incident_id}/resolve",
    summary="Close an incident, saying what was done",
)
def resolve_incident(
    business: OwnedBusiness,
    incident_id: str,
    body: IncidentResolve,
    session: SessionDep,
) -> IncidentPublic:
    incident = owned(session, Incident, incident_id, business.id, kind="incident", noun="incident")
    if incident.resolved_at is None:
        incident.resolved_at = datetime.now(UTC)
        incident.resolution = body.resolution
        session.commit()
    return _incident_public(incident)


def _limit(device: Device, request: Request) -> None:
    """The redemption rate limit of a terminal's till."""
    request.app.state.redeem_limiter.hit(f"device:{device.id}", "redemption")


def _till_business(device: Device, session: SessionDep, request: Request) -> Business:
    """The business whose till this terminal is, after the redemption rate limit."""
    _limit(device, request)
    business = session.get(Business, device.business_id)
    assert business is not None  # a device belongs to a business for good
    return business


def _a_terminal(session: Session, request: Request, _bearer: object) -> None:
    """What `terminal_till` checks of the caller: a paired terminal, not revoked (by its own
    `Authorization` header, as `terminal_till` reads it, not as a user's bearer token)."""
    device_from_header(session, request.headers.get("authorization"))


@router.post(
    "/terminal/redemptions",
    response_model=RedemptionPublic,
    summary="Online redemption by a paired terminal (the server decides)",
)
@checked_first_in(_a_terminal)  # it checks the terminal in its lane, with the rest
async def terminal_redemption(
    body: TerminalRedemption,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    request_body = {"path": request.url.path, **body.model_dump()}
    address = client_of(request).address
    keyring = request.app.state.keyring

    def work(session: Session) -> Outcome:
        # The code is read first (no database), so that the card it names is read with the rest.
        code = read_code(keyring.trust_list(), body.token, utcnow())
        till = terminal_till(session, authorization, idempotency_key, code)
        device = till.device
        _limit(device, request)
        first = True

        def operation() -> Outcome:
            nonlocal first
            assert idempotency_key is not None  # idempotent() refuses a request without one
            if first:  # what the till's one query read
                redemptions.refuse_if_recorded(till.recorded)
                presented: str | PresentedCode = till.code
            else:  # run again (another unique row won the commit): read afresh
                redemptions.refuse_if_recorded_offline(session, device.id, idempotency_key)
                presented = body.token
            first = False
            redeemed = fraud.redeem_at_till(
                session,
                keyring,
                till.business,
                terminal=f"device:{device.id}",
                address=address,
                token=presented,
                card_id=None,
                amount_minor=body.amount_minor,
                memo=f"online at terminal {device.name}",
                origin=service.origin_of(device, body.cashier_id),
            )
            redemptions.record(
                session,
                device.id,
                idempotency_key,
                RedeemedItem.GIFT_CARD,
                redeemed.card_id,
                redeemed.amount.minor,
                operation_id=redeemed.operation_id,
                cashier_id=body.cashier_id,
            )
            return 200, redemption_public(redeemed).model_dump(mode="json")

        scope = scope_of(device.id)
        return idempotent(session, scope, idempotency_key, request_body, operation, till.prior)

    return reply(await in_redemption_lane(request, work))


@router.get("/sync/changes", summary="What changed for this terminal's business since a cursor")
def pull(
    request: Request,
    device: CurrentDevice,
    session: SessionDep,
    cursor: Annotated[int, Query(ge=0, le=2**62, description="0 for everything")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    mark: Annotated[
        str | None,
        Query(
            pattern="^[0-9a-f]{16}$",
            description="the cursor_mark that came with the cursor: a restored log is told by it",
        ),
    ] = None,
) -> ChangesPage:
    _seen(session, device)
    start = resume_from(session, device, cursor)
    return changes_since(
        session,
        device.business_id,
        start,
        limit,
        request.app.state.keyring.trust_list().to_json(),
        # A cursor moved back once (`resume_from`) has another change at its position.
        mark if start == cursor else None,
    )


def _seen(session: SessionDep, device: Device) -> None:
    """A terminal that polls is alive: its owner sees it (at most one write a minute)."""
    now = datetime.now(UTC)
    if device.last_seen_at is None or now - device.last_seen_at > timedelta(minutes=1):
        device.last_seen_at = now
        session.commit()


@router.get(
    "/businesses/{business_id}/offline-limits",
    summary="What your terminals may approve while offline",
)
def get_offline_limits(business: StaffBusiness, session: SessionDep) -> OfflineLimitsBody:
    return offline_limits(session, business.id)


@router.put(
    "/businesses/{business_id}/offline-limits",
    summary="Set what your terminals may approve while offline (synced to them)",
)
def set_offline_limits(
    business: OwnedBusiness, body: OfflineLimitsBody, session: SessionDep
) -> OfflineLimitsBody:
    service.set_offline_limits(session, business.id, body)
    session.commit()
    return offline_limits(session, business.id)


@router.get(
    "/sync/snapshot",
    response_model=SnapshotPage,
    summary="The first sync: the business's current state, in pages",
)
def snapshot(
    request: Request,
    device: CurrentDevice,
    session: SessionDep,
    after: Annotated[
        str | None, Query(max_length=22, description="next_after of the last page")
    ] = None,
    cursor: Annotated[
        int | None, Query(ge=0, le=2**62, description="the first page's cursor")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
) -> Response:
    with cyclic_gc_paused():  # 5,000 cards' rows and models: see sync/allocation.py
        # Serialised here, not by FastAPI: it would validate the page's cards a second time.
        body = snapshot_json(
            session,
            device.business_id,
            after,
            limit,
            cursor,
            request.app.state.keyring.trust_list().to_json(),
        )
    return Response(body, media_type="application/json")


@router.post(
    "/terminal/voucher-redemptions",
    response_model=VoucherPublic,
    summary="Online voucher redemption by a paired terminal (the server decides)",
)
def terminal_voucher_redemption(
    body: TerminalVoucherRedemption,
    request: Request,
    device: CurrentDevice,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    business = _till_business(device, session, request)

    def operation() -> Outcome:
        assert idempotency_key is not None  # idempotent() refuses a request without one
        redemptions.refuse_if_recorded_offline(session, device.id, idempotency_key)
        voucher = deals.redeem_presented_voucher(
            session,
            request.app.state.keyring,
            business,
            body.token,
            None,
            device.id,
            service.origin_of(device, body.cashier_id),
        )
        redemptions.record(
            session,
            device.id,
            idempotency_key,
            RedeemedItem.VOUCHER,
            voucher.id,
            voucher.face_minor,
            cashier_id=body.cashier_id,
        )
        return 200, voucher_public(voucher).model_dump(mode="json")

    request_body = {"path": request.url.path, **body.model_dump()}
    return reply(idempotent(session, scope_of(device.id), idempotency_key, request_body, operation))
