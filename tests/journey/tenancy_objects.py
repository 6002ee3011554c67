"""What ``tests/test_tenancy.py`` needs to cover the segment and journey routes (issue 7): the tables
their id fields name, the tables behind their responses and one segment and live journey (with one
enrolment) per corp."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.models.journey import Journey, JourneyEnrolment, JourneyVersion
from siyu.models.segment import Segment

REFERENCES = {"segment_id": Segment, "journey_id": Journey, "enrolment_id": JourneyEnrolment}
ITEM_TABLES = {
    "Segment": Segment, "SegmentPreview": None, "SegmentCount": None, "SegmentMember": None,
    "SegmentCheck": None, "RefreshOutcome": None, "UploadReport": None, "PresetOut": None,
    "Journey": Journey, "JourneyProblem": None, "JourneyVersion": None, "JourneyEnrolResult": None,
    "JourneyStats": None, "JourneyEnrolment": JourneyEnrolment, "JourneyEnrolmentTrail": None,
    "JourneyTemplate": None,
}


def journey_objects(session, brand) -> dict[str, int]:
    """A dynamic segment, and a live journey with one enrolment of the first customer."""
    moment = datetime(2026, 1, 2, tzinfo=UTC)
    segment = Segment(corp_id=brand.corp_id, name=f"{brand.slug} 上海客户", kind="dynamic", member_count=0,
                      definition={"version": 1, "condition": {"city": {"in": ["上海"]}}})
    definition = {"trigger": {"type": "manual"}, "nodes": [{"id": "end", "type": "exit"}]}
    journey = Journey(corp_id=brand.corp_id, name=f"{brand.slug} 旅程", status="live", draft=definition,
                      live_version=1)
    session.add_all([segment, journey])
    session.flush()
    version = JourneyVersion(corp_id=brand.corp_id, journey_id=journey.id, version=1, definition=definition,
                             published_at=moment)
    session.add(version)
    session.flush()
    enrolment = JourneyEnrolment(corp_id=brand.corp_id, journey_id=journey.id, version_id=version.id,
                                 customer_id=brand.customer_ids[0], node="end", entry_slot="once", source="api",
                                 context={}, entered_at=moment, node_entered_at=moment)
    session.add(enrolment)
    session.flush()
    return {"segment_id": segment.id, "journey_id": journey.id, "enrolment_id": enrolment.id}
