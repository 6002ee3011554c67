"""Job handlers and callback hooks of acquisition.

* ``acquisition.rotation_tick`` ``{}`` — every quarter of an hour: expire temporary codes whose time
  is up and rewrite the contact ways whose rotation changed (schedules, a new day resets caps).
* The ``customer.contacts.on_customer_added`` hook ``service.customer_added`` is registered when this
  module is imported (it is listed in ``kit.jobs.HANDLER_MODULES``, so every worker has it).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.acquisition import service
from siyu.customer import contacts
from siyu.kit.clock import get_clock
from siyu.kit.jobs import JobContext, job_handler


@job_handler(service.ROTATION_JOB)
def rotation_tick(ctx: JobContext) -> dict[str, int]:
    return service.rotation_tick(ctx.session, ctx.clock)


def on_customer_added(session: Session, added: contacts.CustomerAdded) -> None:
    service.customer_added(session, added, clock=get_clock())


if on_customer_added not in contacts.on_customer_added:
    contacts.on_customer_added.append(on_customer_added)
