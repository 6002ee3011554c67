"""Job handlers of the WeCom integration.

* ``wecom.sync`` ``{"run_id"}`` — carries a sync run to its end, resuming from its checkpoint (a retry
  after a crash or a transient WeCom failure continues where the last attempt stopped).
* ``wecom.refresh_external_contact`` ``{"corp_id", "external_userid"}`` — fetches one contact with
  ``externalcontact/get`` and updates the customer (name, gender, unionid identity), its relations and
  their tags. Callback handlers enqueue it; ``corp_id`` is siyu's corp id or the WeCom corp id.

Both write in transactions of their own instead of the job's: a sync commits after every page (that
is what makes it resumable), and the token cache commits on its own. The job's transaction is ended
before that work starts — on SQLite it would otherwise hold the single write lock (or a read snapshot
that can no longer write once another connection committed) while the handler's own transactions
wait for it. The worker then completes the job in a fresh transaction, still guarded by its lease.
Writes are idempotent upserts, so a job that runs twice is harmless.
"""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.integrations.wecom.client import WeComClientFactory
from siyu.integrations.wecom.errors import WeComApiError, WeComNotConnected
from siyu.integrations.wecom.sync import JOB_NAME, WeComSync
from siyu.integrations.wecom.sync_customers import refresh_contact
from siyu.integrations.wecom.tokens import SessionScope
from siyu.kit.clock import Clock
from siyu.kit.jobs import JobContext, PermanentJobError, job_handler
from siyu.models.wecom import WeComConnection

_factories: dict[tuple[object, Clock], WeComClientFactory] = {}
_factories_lock = threading.Lock()



def _clients(ctx: JobContext, sessions: SessionScope) -> WeComClientFactory:
    """One client factory per database and clock in this process: pooled connections, one token memo."""
    # Keyed by the objects themselves (not their ids) so a new clock never inherits an old factory.
    key = (ctx.session.get_bind().pool, ctx.clock)
    with _factories_lock:
        factory = _factories.get(key)
        if factory is None:
            factory = _factories[key] = WeComClientFactory(sessions, ctx.clock)
        return factory


def _permanent_unless_retryable(error: WeComApiError) -> Exception:
    return error if error.retryable else PermanentJobError(str(error))


@job_handler(JOB_NAME, max_attempts=12)
def run_sync(ctx: JobContext, run_id: int) -> None:
    sessions = ctx.own_sessions()
    try:
        WeComSync(sessions, _clients(ctx, sessions), ctx.clock).run(run_id)
    except WeComApiError as error:
        raise _permanent_unless_retryable(error) from error
    except (WeComNotConnected, LookupError) as error:
        raise PermanentJobError(str(error)) from error


def _corp_id(session: Session, corp_id: int | str) -> int:
    if isinstance(corp_id, int) or str(corp_id).isdigit():
        return int(corp_id)
    found = session.scalars(select(WeComConnection.corp_id)
                            .where(WeComConnection.wecom_corp_id == corp_id)).one_or_none()
    if found is None:
        raise PermanentJobError(f"no WeCom connection for corp {corp_id!r}")
    return found


@job_handler("wecom.refresh_external_contact")
def refresh_external_contact(ctx: JobContext, corp_id: int | str, external_userid: str) -> None:
    sessions = ctx.own_sessions()
    with sessions() as session:
        local_corp = _corp_id(session, corp_id)
    try:
        client = _clients(ctx, sessions).for_corp(local_corp)
        refresh_contact(client, sessions, local_corp, external_userid, ctx.clock.now())
    except WeComApiError as error:
        raise _permanent_unless_retryable(error) from error
    except WeComNotConnected as error:
        raise PermanentJobError(str(error)) from error


def reset_client_factories(clock: Clock | None = None) -> None:
    """Close cached factories (tests swap databases and clocks between runs)."""
    with _factories_lock:
        for key, factory in list(_factories.items()):
            if clock is None or key[1] is clock:
                factory.close()
                del _factories[key]
