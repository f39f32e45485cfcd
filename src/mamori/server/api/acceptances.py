"""Risk acceptances: list (what `mamori scan` fetches and applies), create, revoke.

Listing takes a credential with "read" or "scan:write" (CI tokens carry only the latter).
Creating and revoking take the analyst or admin role with "scan:write" (see
`mamori.server.scans.acceptances`); both are audited (who, when, why).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from mamori.server.auth.deps import authenticate, presented_csrf, require_scope
from mamori.server.auth.principal import Principal
from mamori.server.db import utcnow
from mamori.server.deps import DbSession
from mamori.server.scans.acceptances import (
    AcceptanceError,
    AcceptanceForbidden,
    AcceptanceNotFound,
    AcceptanceRow,
    AcceptanceState,
    create_acceptance,
    list_acceptances,
    revoke_acceptance,
)

router = APIRouter(prefix="/api/v1/acceptances", tags=["acceptances"])
Db = DbSession
Writer = Annotated[Principal, Depends(require_scope("scan:write"))]


def reader_or_scanner(
    request: Request,
    session: Db,
    csrf: Annotated[str | None, Depends(presented_csrf)],
) -> Principal:
    principal = authenticate(request, session, csrf)
    if not (principal.grants("read") or principal.grants("scan:write")):
        raise HTTPException(403, "this credential lacks the 'read' or 'scan:write' scope")
    return principal


class PackageSelector(BaseModel):
    name: str = Field(min_length=1)
    version: str | None = None


class AcceptanceItem(BaseModel):
    id: int
    vulnerability: str | None
    package: PackageSelector | None
    image: str | None
    reason: str
    author: str
    expires: date
    created: date
    revoked: bool


class AcceptanceList(BaseModel):
    items: list[AcceptanceItem]


class AcceptanceRequest(BaseModel):
    vulnerability: str | None = None
    package: PackageSelector | None = None
    image: str | None = Field(default=None, description="fnmatch pattern over image references")
    reason: str
    expires: date = Field(description="The last day the acceptance applies.")


class RevokeRequest(BaseModel):
    reason: str


def _item(row: AcceptanceRow) -> AcceptanceItem:
    package = (
        None
        if row.package_name is None
        else PackageSelector(name=row.package_name, version=row.package_version)
    )
    return AcceptanceItem(
        id=row.id,
        vulnerability=row.vulnerability,
        package=package,
        image=row.image,
        reason=row.reason,
        author=row.author,
        expires=row.expires,
        created=row.created_at.date(),
        revoked=row.revoked_at is not None,
    )


def _refused(exc: AcceptanceError) -> HTTPException:
    if isinstance(exc, AcceptanceForbidden):
        return HTTPException(403, str(exc))
    if isinstance(exc, AcceptanceNotFound):
        return HTTPException(404, str(exc))
    return HTTPException(400, str(exc))


@router.get("", response_model=AcceptanceList)
def get_acceptances(
    _: Annotated[Principal, Depends(reader_or_scanner)],
    session: Db,
    image: str | None = None,
    include_expired: bool = False,
    state: AcceptanceState | None = None,
) -> AcceptanceList:
    """Acceptances not revoked (and not expired unless `include_expired`), those matching
    `image` when given; `state` lists active, expired, revoked or all instead."""
    states: tuple[AcceptanceState, ...]
    if state is not None:
        states = (state,)
    else:
        states = ("active", "expired") if include_expired else ("active",)
    rows = list_acceptances(session, today=utcnow().date(), states=states, image=image)
    return AcceptanceList(items=[_item(r) for r in rows])


@router.post("", response_model=AcceptanceItem, status_code=201)
def post_acceptance(principal: Writer, session: Db, request: AcceptanceRequest) -> AcceptanceItem:
    try:
        row = create_acceptance(
            session,
            principal,
            vulnerability=request.vulnerability,
            package_name=request.package.name if request.package else None,
            package_version=request.package.version if request.package else None,
            image=request.image,
            reason=request.reason,
            expires=request.expires,
            today=utcnow().date(),
        )
    except AcceptanceError as exc:
        raise _refused(exc) from None
    return _item(row)


@router.post("/{acceptance_id}/revoke", response_model=AcceptanceItem)
def post_revoke(
    acceptance_id: int, principal: Writer, session: Db, request: RevokeRequest
) -> AcceptanceItem:
    try:
        row = revoke_acceptance(session, principal, acceptance_id, request.reason)
    except AcceptanceError as exc:
        raise _refused(exc) from None
    return _item(row)
