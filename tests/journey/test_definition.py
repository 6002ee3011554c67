"""Definitions: every problem at once, each naming its node and field, in zh-CN and en."""

from __future__ import annotations

from siyu.journey import templates
from siyu.journey.definition import KnownIds, validate_definition


def _problems(definition, language="en", **options):
    return [(p.node, p.field, p.message(language)) for p in validate_definition(definition, **options)]


def test_every_template_is_valid():
    assert {key: _problems(templates.build(key)) for key in templates.TEMPLATES} == {
        key: [] for key in templates.TEMPLATES}


def test_problems_name_node_and_field_in_both_languages():
    definition = {"trigger": {"type": "birthday"}, "reentry": {"mode": "sometimes"}, "nodes": [
        {"id": "a", "type": "wait_until", "time": "25:00", "next": "b"},
        {"id": "b", "type": "send_message", "text": "", "via": "sms", "next": "a"},
        {"id": "a", "type": "exit"},
        {"id": "c", "type": "teleport"}]}
    assert _problems(definition) == [
        (None, "trigger.type", "Field trigger.type: must be one of: channel_code, segment_entered, segment_left, "
                               "event, order_placed, tag_added, date_trait, manual."),
        (None, "reentry.mode", "Field reentry.mode: must be one of: once, after_exit, after_days."),
        ("a", "id", "Node a, field id: this id is used by another node too."),
        ("a", "time", "Node a, field time: must be a time of day HH:MM, e.g. 10:00."),
        ("b", "text", "Node b, field text: is required."),
        ("b", "via", "Node b, field via: must be one of: staff, staff_task."),
        ("c", "type", "Node c, field type: must be one of: " + ", ".join(
            __import__("siyu.journey.definition", fromlist=["NODE_TYPES"]).NODE_TYPES) + "."),
        ("a", "next", "Node a, field next: the journey loops back here; journeys must not contain cycles."),
    ]
    assert _problems(definition, "zh-CN")[2] == ("a", "id", "节点 a 的字段 id：该 ID 已被其他节点使用。")


def test_references_are_checked_against_the_corp():
    definition = {"trigger": {"type": "tag_added", "tag_id": 5}, "nodes": [
        {"id": "t", "type": "add_tag", "tag_id": 6}]}
    assert _problems(definition, known=KnownIds(tags={5})) == [
        ("t", "tag_id", "Node t, field tag_id: refers to tags 6, which does not exist.")]


def test_a_bad_segment_condition_is_reported_on_its_node():
    definition = {"trigger": {"type": "manual"}, "nodes": [
        {"id": "vip", "type": "condition", "condition": {"colour": "red"}, "yes": "end"},
        {"id": "end", "type": "exit"}]}
    problems = validate_definition(definition)
    assert [(p.node, p.field.split(".")[0]) for p in problems] == [("vip", "condition")]
    assert problems[0].message("en").startswith(
        'Node vip, field condition.colour: the segment condition is invalid (Unknown condition type "colour"')
    assert "segment.problem." not in problems[0].message("zh-CN")
