"""Webhook nodes: a signed POST through the outbox to a real HTTP server on loopback, retried on 5xx,
refused on 4xx, one call per (enrolment, node)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from siyu.models import Job, JobStatus, JourneyVersion, OutboxMessage


@pytest.fixture
def receiver():
    """A loopback HTTP server answering with the statuses queued in ``answers`` (then 200)."""
    received: list[dict] = []
    answers: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 — http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"body": body, "headers": dict(self.headers)})
            status = answers.pop(0) if answers else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received, answers
    server.shutdown()


def test_webhook_is_signed_retried_and_delivered_once(database, clock, corp, runner, live_journey, enrol, run_jobs,
                                                      receiver):
    url, received, answers = receiver
    journey_id = live_journey([{"id": "crm", "type": "webhook", "url": url, "secret": "s3cret",
                                "body": {"campaign": "welcome"}}])
    customer = corp.customer_ids[0]
    enrol(journey_id, [customer])
    runner.run_until_idle()
    # the secret is stored sealed, not as written
    with database.session() as session:
        stored = session.scalars(select(JourneyVersion.definition)).one()["nodes"][0]["secret"]
    assert stored.startswith("sealed:") and "s3cret" not in stored
    # when the receiver first fails with 503, then accepts
    answers.append(503)
    run_jobs()
    with database.session() as session:
        message = session.scalars(select(OutboxMessage)).one()
        job = session.scalars(select(Job).where(Job.name == "outbox.deliver")).one()
    assert (message.status.value, job.status, len(received)) == ("pending", JobStatus.queued, 1)
    clock.advance(job.due_at - clock.now())
    run_jobs()
    run_jobs()
    with database.session() as session:
        message = session.scalars(select(OutboxMessage)).one()
    assert message.status.value == "sent"
    assert len(received) == 2
    call = received[1]
    body = json.loads(call["body"])
    assert (body["customer_id"], body["node"], body["campaign"]) == (customer, "crm", "welcome")
    expected = hmac.new(b"s3cret", call["headers"]["X-Siyu-Timestamp"].encode() + b"." + call["body"],
                        hashlib.sha256).hexdigest()
    assert call["headers"]["X-Siyu-Signature"] == f"sha256={expected}"
    assert call["headers"]["Idempotency-Key"] == received[0]["headers"]["Idempotency-Key"] == message.idempotency_key


def test_a_refused_webhook_is_not_retried(database, clock, corp, runner, live_journey, enrol, run_jobs, receiver):
    url, received, answers = receiver
    journey_id = live_journey([{"id": "crm", "type": "webhook", "url": url, "secret": "k"}])
    enrol(journey_id, corp.customer_ids[:1])
    runner.run_until_idle()
    answers.append(400)
    run_jobs()
    clock.advance(3600)
    run_jobs()
    with database.session() as session:
        message = session.scalars(select(OutboxMessage)).one()
    assert (message.status.value, len(received)) == ("failed", 1)
