"""The console's "test connection": can siyu reach this corp's WeCom with the stored secret?

It asks WeCom for an access token (gettoken) and lists the members with customer contact enabled
(get_follow_user_list), which proves the 客户联系 secret works for the APIs siyu needs. One attempt,
no retries: the operator is waiting for the answer.
"""

from __future__ import annotations

from contextlib import nullcontext

from sqlalchemy.orm import Session

from siyu.integrations.wecom.client import WeComClientFactory
from siyu.integrations.wecom.errors import WeComApiError, WeComNotConnected
from siyu.integrations.wecom.ratelimit import RetryPolicy
from siyu.kit.clock import Clock
from siyu.kit.settings import Settings
from siyu.wecom.service import ConnectionCheck


def check_connection(session: Session, corp_id: int, clock: Clock, settings: Settings) -> ConnectionCheck:
    """Call WeCom once for ``corp_id``. Runs in ``session``'s transaction (see ``reader``)."""
    factory = WeComClientFactory(lambda: nullcontext(session), clock, settings=settings,
                                 retry=RetryPolicy(attempts=1))
    try:
        client = factory.for_corp(corp_id)
        answer = client.get_follow_user_list()
        return ConnectionCheck(ok=True, detail=f"gettoken ok; follow users: {len(answer.follow_user)}",
                               follow_users=len(answer.follow_user))
    except WeComNotConnected as error:
        return ConnectionCheck(ok=False, detail=error.message("en"))
    except WeComApiError as error:
        return ConnectionCheck(ok=False, detail=f"errcode {error.errcode}: {error.errmsg}"[:500])
    finally:
        factory.close()
