"""Risk acceptances kept by the server: create, list, revoke — every change audited.

Who may change them: a principal whose role is analyst or admin and whose credential holds
"scan:write" (or "admin"); tokens are bounded by their user's role, so a viewer's never qualifies.
`can_accept_risk(principal)` says so for the console and the API alike.

An acceptance needs a reason, an expiry date (the last day it applies) that is not in the past,
and at least one selector (vulnerability, package, image pattern); the selectors given must all
match for it to cover a finding, as in `.mamori/accept.yaml` (`mamori.policy.acceptances`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatchcase
from typing import Literal

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session, aliased

from mamori.server.auth.audit import audit
from mamori.server.auth.principal import Principal
from mamori.server.auth.tables import User
from mamori.server.db import utcnow
from mamori.server.scans.tables import RiskAcceptance

AcceptanceState = Literal["active", "expired", "revoked", "all"]
MAX_REASON = 2000
ACCEPTING_ROLES = ("analyst", "admin")


class AcceptanceError(ValueError):
    """A request the acceptance service refuses; the message is one line for the user."""


class AcceptanceNotFound(AcceptanceError):
    pass


class AcceptanceForbidden(AcceptanceError):
    pass


@dataclass(frozen=True)
class AcceptanceRow:
    id: int
    vulnerability: str | None
    package_name: str | None
    package_version: str | None
    image: str | None  # fnmatch pattern over image references
    reason: str
    author: str
    created_at: datetime
    expires: date
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None

    def state(self, today: date) -> Literal["active", "expired", "revoked"]:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires < today else "active"


def can_accept_risk(principal: Principal) -> bool:
    return principal.role in ACCEPTING_ROLES and principal.grants("scan:write")


def _require(principal: Principal) -> None:
    if not can_accept_risk(principal):
        raise AcceptanceForbidden("risk acceptances need the analyst or admin role and scan:write")


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def create_acceptance(
    session: Session,
    principal: Principal,
    *,
    vulnerability: str | None,
    package_name: str | None,
    package_version: str | None,
    image: str | None,
    reason: str,
    expires: date,
    today: date,
) -> AcceptanceRow:
    _require(principal)
    vulnerability, package_name = _clean(vulnerability), _clean(package_name)
    package_version, image = _clean(package_version), _clean(image)
    reason = reason.strip()
    if not (vulnerability or package_name or image):
        raise AcceptanceError("give at least one of vulnerability, package and image")
    if package_version and not package_name:
        raise AcceptanceError("a package version needs a package name")
    if not reason:
        raise AcceptanceError("reason: a reason is required")
    if len(reason) > MAX_REASON:
        raise AcceptanceError(f"reason: at most {MAX_REASON} characters")
    if expires < today:
        raise AcceptanceError(f"expires: {expires.isoformat()} is in the past")
    row = RiskAcceptance(
        vulnerability=vulnerability,
        package_name=package_name,
        package_version=package_version,
        image_pattern=image,
        reason=reason,
        author_id=principal.user_id,
        created_at=utcnow(),
        expires=expires,
    )
    session.add(row)
    session.flush()
    audit(session, principal, "acceptance.create", f"acceptance {row.id}", _describe(row))
    return _row(row, principal.username, None)


def _describe(row: RiskAcceptance) -> str:
    selectors = [
        f"vulnerability={row.vulnerability}" if row.vulnerability else "",
        f"package={row.package_name}" if row.package_name else "",
        f"version={row.package_version}" if row.package_version else "",
        f"image={row.image_pattern}" if row.image_pattern else "",
    ]
    chosen = " ".join(s for s in selectors if s)
    return f"{chosen} expires={row.expires.isoformat()} reason={row.reason}"


def revoke_acceptance(
    session: Session, principal: Principal, acceptance_id: int, reason: str
) -> AcceptanceRow:
    _require(principal)
    reason = reason.strip()
    if not reason:
        raise AcceptanceError("reason: say why the acceptance is revoked")
    if len(reason) > MAX_REASON:
        raise AcceptanceError(f"reason: at most {MAX_REASON} characters")
    row = session.get(RiskAcceptance, acceptance_id)
    if row is None:
        raise AcceptanceNotFound(f"no risk acceptance {acceptance_id}")
    if row.revoked_at is not None:
        raise AcceptanceError(f"risk acceptance {acceptance_id} is revoked already")
    row.revoked_at = utcnow()
    row.revoked_by_id = principal.user_id
    row.revoke_reason = reason
    session.flush()
    audit(session, principal, "acceptance.revoke", f"acceptance {row.id}", reason)
    author = session.scalar(select(User.username).where(User.id == row.author_id)) or ""
    return _row(row, author, principal.username)


def _listing() -> Select[RiskAcceptance, str, str]:
    revoker = aliased(User)
    return (
        select(RiskAcceptance, User.username, revoker.username)
        .join(User, User.id == RiskAcceptance.author_id)
        .outerjoin(revoker, revoker.id == RiskAcceptance.revoked_by_id)
        .order_by(RiskAcceptance.created_at.desc(), RiskAcceptance.id.desc())
    )


def list_acceptances(
    session: Session,
    *,
    today: date,
    states: tuple[AcceptanceState, ...] = ("active",),
    image: str | None = None,
) -> tuple[AcceptanceRow, ...]:
    """Acceptances in any of `states`, newest first; with `image`, those whose pattern matches
    that reference or that have no image pattern."""
    query = _listing()
    if "all" not in states:
        wanted: list[ColumnElement[bool]] = []
        if "revoked" in states:
            wanted.append(RiskAcceptance.revoked_at.is_not(None))
        live = RiskAcceptance.revoked_at.is_(None)
        if "active" in states and "expired" in states:
            wanted.append(live)
        elif "active" in states:
            wanted.append(live & (RiskAcceptance.expires >= today))
        elif "expired" in states:
            wanted.append(live & (RiskAcceptance.expires < today))
        if not wanted:
            return ()
        query = query.where(or_(*wanted))
    rows = [_row(r, author, revoker) for r, author, revoker in session.execute(query)]
    if image is not None:
        rows = [r for r in rows if r.image is None or fnmatchcase(image, r.image)]
    return tuple(rows)


def _row(row: RiskAcceptance, author: str, revoked_by: str | None) -> AcceptanceRow:
    return AcceptanceRow(
        id=row.id,
        vulnerability=row.vulnerability,
        package_name=row.package_name,
        package_version=row.package_version,
        image=row.image_pattern,
        reason=row.reason,
        author=author,
        created_at=row.created_at,
        expires=row.expires,
        revoked_at=row.revoked_at,
        revoked_by=revoked_by,
        revoke_reason=row.revoke_reason,
    )
