"""Journeys (自动化旅程 / SOP): durable marketing automation.

An operator writes a definition (``definition``: a trigger, re-entry rule, goal and a DAG of nodes;
documented in ``docs/journeys.md``), publishes it as a frozen version, and the engine (``engine``,
run by ``runner.JourneyRunner`` in every worker) carries each enrolled customer through it.
``simulation`` runs a definition on a simulated clock without side effects; ``templates`` holds the
ready-made journeys of the demo brand.

Interfaces for other domains:

* ``siyu.journey.service.enrol(session, principal, clock, journey_id, customer_ids, source="api")`` —
  enrol customers into a live journey (re-entry rules apply);
* ``siyu.journey.engine.enrol(session, journey, version, [(customer_id, context)], source=, now=)`` —
  the same without a principal, for triggers owned by other domains;
* ``siyu.journey.runner.JourneyRunner(database, clock).run()`` — the worker loop.

The engine reaches other domains only through ``siyu.journey.ports``.
"""
