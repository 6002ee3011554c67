"""The WeCom client against the emulator over real HTTP: shared tokens, refresh, retries, errors and
every typed endpoint of reference §1–§3."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from siyu.integrations.wecom import schemas_engagement as e
from siyu.integrations.wecom.client import WeComClient, WeComClientFactory
from siyu.integrations.wecom.errors import NO_ANSWER, WeComApiError, WeComNotConnected
from siyu.integrations.wecom.ratelimit import RateLimiter, RateLimits, RetryPolicy
from siyu.integrations.wecom.tokens import AccessTokens
from siyu.models import WeComAccessToken

FOLLOW_USERS = "externalcontact/get_follow_user_list"


class Sleeps(list):
    """Records each wait and moves the test clock by it (nothing really sleeps)."""

    def __init__(self, clock) -> None:
        super().__init__()
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self.clock.advance(seconds)


def make_factory(database, clock, settings, sleeps: Sleeps, *, retry: RetryPolicy | None = None,
                 http: httpx.Client | None = None) -> WeComClientFactory:
    limiter = RateLimiter(monotonic=clock.monotonic_seconds, sleep=sleeps)
    return WeComClientFactory(database.session, clock, settings=settings, rate_limiter=limiter,
                              retry=retry or RetryPolicy(jitter=0), sleep=sleeps, http=http)


@pytest.fixture
def sleeps(clock) -> Sleeps:
    return Sleeps(clock)


@pytest.fixture
def connected(database, settings, wecom_emulator):
    """The seeded emulator corp connected to a siyu corp; yields the siyu corp id."""
    wecom_emulator.seed(departments=4, staff=6, customers=30)
    with database.session() as session:
        return wecom_emulator.connect(session, secret_key=settings.secret_key)


@pytest.fixture
def client(database, clock, settings, sleeps, connected) -> WeComClient:
    return make_factory(database, clock, settings, sleeps).for_corp(connected)


def token_rows(database) -> list[tuple[str, object]]:
    with database.session() as session:
        return [tuple(row) for row in session.execute(
            select(WeComAccessToken.access_token, WeComAccessToken.expires_at))]


# -- tokens ------------------------------------------------------------------------------------------
def test_token_is_fetched_once_and_shared_through_the_database(database, clock, settings, sleeps, connected,
                                                               wecom_emulator):
    # given two factories, each with its own in-process token memo (as two processes would have)
    first = make_factory(database, clock, settings, sleeps).for_corp(connected)
    second = make_factory(database, clock, settings, sleeps).for_corp(connected)

    # when both call WeCom
    first.get_follow_user_list()
    second.get_follow_user_list()

    # then gettoken was called once and both used the cached row
    assert wecom_emulator.count("gettoken") == 1
    assert wecom_emulator.count(FOLLOW_USERS) == 2
    issued = wecom_emulator.state.token_by_secret[(wecom_emulator.corp_id, wecom_emulator.contact_secret)]
    assert token_rows(database) == [(issued, clock.now() + timedelta(seconds=7200))]


def test_token_is_refreshed_after_expiry_on_the_clock(database, clock, client, wecom_emulator):
    # given a token fetched now
    client.get_follow_user_list()
    old = token_rows(database)[0][0]

    # when the clock passes the expiry and the client is used again
    clock.advance(7200)
    client.get_follow_user_list()

    # then a second token was fetched and replaced the row; no call was refused
    new = wecom_emulator.state.token_by_secret[(wecom_emulator.corp_id, wecom_emulator.contact_secret)]
    assert new != old
    assert wecom_emulator.count("gettoken") == 2
    assert wecom_emulator.count(FOLLOW_USERS) == 2
    assert token_rows(database) == [(new, clock.now() + timedelta(seconds=7200))]


def test_token_revoked_by_wecom_is_refreshed_on_40014(database, client, wecom_emulator):
    # given a cached token that WeCom then revokes (e.g. a secret reset)
    client.get_follow_user_list()
    wecom_emulator.state.invalidate_tokens(wecom_emulator.corp_id)

    # when the client calls again
    answer = client.get_follow_user_list()

    # then the refused call (40014) was repeated once with a fresh token
    assert len(answer.follow_user) == 6
    assert wecom_emulator.count("gettoken") == 2
    assert wecom_emulator.count(FOLLOW_USERS) == 3


def test_token_expired_at_wecom_is_refreshed_on_42001(database, clock, client, wecom_emulator):
    # given a cached row that still looks valid here while WeCom already expired the token
    client.get_follow_user_list()
    with database.session() as session:
        session.execute(update(WeComAccessToken).values(expires_at=clock.now() + timedelta(days=1)))
    clock.advance(7200)

    # when the client calls
    client.get_follow_user_list()

    # then WeCom answered 42001 once and the retry with a new token succeeded
    assert wecom_emulator.count("gettoken") == 2
    assert wecom_emulator.count(FOLLOW_USERS) == 3
    assert token_rows(database)[0][0] == wecom_emulator.state.token_by_secret[
        (wecom_emulator.corp_id, wecom_emulator.contact_secret)]


def test_wrong_secret_fails_without_retry_and_caches_nothing(database, clock, settings, sleeps,
                                                             wecom_emulator):
    # given a corp connected with a secret WeCom does not know
    wecom_emulator.credentials["contact_secret"] = "not-the-secret"
    with database.session() as session:
        corp_id = wecom_emulator.connect(session, secret_key=settings.secret_key, address_book=False)
    client = make_factory(database, clock, settings, sleeps).for_corp(corp_id)

    # when it calls
    with pytest.raises(WeComApiError) as refused:
        client.get_follow_user_list()

    # then gettoken was asked once, the error carries 40001, and no token was stored
    assert refused.value.errcode == 40001
    assert "invalid credential" in refused.value.errmsg
    assert wecom_emulator.count("gettoken") == 1
    assert wecom_emulator.count(FOLLOW_USERS) == 0
    assert sleeps == []
    assert token_rows(database) == []


def test_corp_without_connection_is_refused(database, clock, settings, sleeps):
    factory = make_factory(database, clock, settings, sleeps)
    with pytest.raises(WeComNotConnected):
        factory.for_corp(424242)


# -- retries -----------------------------------------------------------------------------------------
def test_rate_limit_45009_is_retried_after_a_backoff(client, wecom_emulator, sleeps):
    # given WeCom allows one call a minute and it was used
    wecom_emulator.simulator.configure(wecom_emulator.corp_id, rate_limits={"per_minute": 1})
    client.get_follow_user_list()

    # when the client calls again
    answer = client.get_follow_user_list()

    # then the corp was paused 15, 30, then 60 s; WeCom's one-minute block had passed by the third retry
    assert len(answer.follow_user) == 6
    assert sleeps == [15.0, 30.0, 60.0]
    assert wecom_emulator.count(FOLLOW_USERS) == 5


def test_rate_limit_gives_up_after_the_bounded_attempts(database, clock, settings, sleeps, connected,
                                                        wecom_emulator):
    # given WeCom blocks the corp for an hour
    retry = RetryPolicy(attempts=3, rate_limit_base_delay=2.0, jitter=0)
    client = make_factory(database, clock, settings, sleeps, retry=retry).for_corp(connected)
    wecom_emulator.simulator.configure(wecom_emulator.corp_id, rate_limits={"per_hour": 1})
    client.get_follow_user_list()

    # when the client calls again
    with pytest.raises(WeComApiError) as refused:
        client.get_follow_user_list()

    # then three attempts with 2 s and 4 s between them, then the 45009 surfaces
    assert refused.value.errcode == 45009
    assert refused.value.retryable
    assert sleeps == [2.0, 4.0]
    assert wecom_emulator.count(FOLLOW_USERS) == 4


def test_other_errors_are_not_retried(client, wecom_emulator, sleeps):
    # when the client asks for a member that does not exist
    with pytest.raises(WeComApiError) as refused:
        client.user_get("ghost")

    # then exactly one request was made and the error carries WeCom's code and message
    assert refused.value.errcode == 60111
    assert refused.value.errmsg.startswith("userid 'ghost' not found")
    assert not refused.value.retryable
    assert wecom_emulator.count("user/get") == 1
    assert sleeps == []


def _answers(*responses):
    """An httpx transport answering from a script (transport faults the emulator cannot produce)."""
    calls: list[str] = []
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/gettoken"):
            return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "access_token": "T",
                                             "expires_in": 7200})
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.Client(transport=httpx.MockTransport(handle)), calls


def _scripted_client(database, clock, settings, sleeps, connected, *responses):
    http, calls = _answers(*responses)
    return make_factory(database, clock, settings, sleeps, http=http).for_corp(connected), calls


def test_busy_network_errors_and_5xx_are_retried(database, clock, settings, sleeps, connected):
    # given WeCom is busy, then the connection is refused, then a gateway fails, then it answers
    client, calls = _scripted_client(
        database, clock, settings, sleeps, connected,
        httpx.Response(200, json={"errcode": -1, "errmsg": "system busy"}),
        httpx.ConnectError("connection refused"),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "follow_user": ["zhangsan"]}))
    client._retry = RetryPolicy(attempts=4, base_delay=0.5, jitter=0)

    # when a read is made
    answer = client.get_follow_user_list()

    # then it succeeded on the fourth attempt after 0.5, 1 and 2 s
    assert answer.follow_user == ["zhangsan"]
    assert sleeps == [0.5, 1.0, 2.0]
    assert calls.count("/cgi-bin/externalcontact/get_follow_user_list") == 4


def test_a_lost_answer_to_a_change_is_not_resent(database, clock, settings, sleeps, connected):
    # given the connection breaks after a mass message was sent
    client, calls = _scripted_client(database, clock, settings, sleeps, connected,
                                     httpx.ReadTimeout("timed out"))

    # when the call that creates the mass message is made
    with pytest.raises(WeComApiError) as failed:
        client.add_msg_template(e.AddMsgTemplateRequest(sender="zhangsan", text=e.Text(content="hi")))

    # then it was sent once and the outcome is reported unknown (to reconcile, not to resend)
    assert failed.value.errcode == NO_ANSWER
    assert failed.value.outcome_unknown and not failed.value.retryable
    assert calls.count("/cgi-bin/externalcontact/add_msg_template") == 1
    assert sleeps == []


def test_limiter_keeps_below_the_configured_rate(clock):
    # given a limit of 600 a minute (bucket of 60, refilled at 9 a second)
    waits: list[float] = []
    limiter = RateLimiter(RateLimits(per_minute=600, per_hour=100_000), monotonic=clock.monotonic_seconds,
                          sleep=lambda seconds: (waits.append(seconds), clock.advance(seconds)))

    # when 600 calls are made as fast as allowed
    start = clock.now()
    for _ in range(600):
        limiter.acquire("wwcorp")

    # then they took 60 s: the first 60 at once, then 9 a second — never more than 600 in a minute
    assert waits[:1] == [pytest.approx(1 / 9)]
    assert (clock.now() - start).total_seconds() == pytest.approx(60.0)


def test_access_tokens_refresh_before_the_margin(database, clock, connected):
    # given a token stored with 7200 s
    fetched: list[int] = []

    def fetch() -> tuple[str, int]:
        fetched.append(1)
        return f"token{len(fetched)}", 7200

    tokens = AccessTokens(database.session, clock)
    assert tokens.get(connected, "secret", fetch) == "token1"

    # when the clock reaches five minutes before the expiry
    clock.advance(6899)
    still = tokens.get(connected, "secret", fetch)
    clock.advance(1)
    renewed = tokens.get(connected, "secret", fetch)

    # then the old token served until then and a new one after
    assert (still, renewed, len(fetched)) == ("token1", "token2", 2)
