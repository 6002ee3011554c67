"""The queries the console shell itself needs: the corp shown in the top bar."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.kit.tenancy import Principal
from siyu.models.corp import Corp


@dataclass(frozen=True)
class CorpProfile:
    """What every console page shows of the tenant."""

    name: str
    slug: str
    timezone: str


def corp_profile(session: Session, principal: Principal) -> CorpProfile:
    # The corp row is the tenant itself: it is keyed by the principal's own corp id, so there is
    # nothing for ``scoped`` to narrow.
    row = session.execute(
        select(Corp.name, Corp.slug, Corp.timezone).where(Corp.id == principal.corp_id)
    ).one()
    return CorpProfile(name=row.name, slug=row.slug, timezone=row.timezone or "Asia/Shanghai")
