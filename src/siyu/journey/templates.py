"""Ready-made journeys for the cases brands ask for first. ``build(key, params)`` returns a draft
definition; the operator fills the references (a channel code, a coupon template, a segment, a tag)
in ``params`` or later in the editor, and publishing checks them.

============== ===================================================================== =================
key            what it does                                                          case
============== ===================================================================== =================
welcome        channel code add → welcome → ask for the order number → wait for the  七匹狼
               binding → tag + reward coupon (or a reminder on timeout)
post_purchase  order → two days later at 10:00 a care message → a week later ask     —
               for a review; goal: a next order within 30 days
win_back       dormant segment entered → A/B(/holdout) message with a coupon → a     —
               reminder after 7 days; goal: an order within 14 days
points_expiry  points expiring in 7 days → a reminder at 10:00                       周大福
birthday       birthday in 3 days → birthday coupon + greeting                       —
weather        daily audience at 08:00 → recommendation by the city's weather        瑞幸
============== ===================================================================== =================
"""

from __future__ import annotations

import copy
from typing import Any

from siyu.kit.errors import NotFound


def _welcome(p: dict[str, Any]) -> dict[str, Any]:
    reward: list[dict[str, Any]] = []
    if p.get("coupon_template_id"):
        reward = [{"id": "reward", "type": "issue_coupon", "coupon_template_id": p["coupon_template_id"],
                   "next": "reward_note"},
                  {"id": "reward_note", "type": "send_message", "priority": "transactional",
                   "text": "订单已绑定，送您一张新客券，下次到店可用～", "next": "converted"}]
    bound_next = "tag_bound" if p.get("bound_tag_id") else (reward[0]["id"] if reward else "converted")
    nodes: list[dict[str, Any]] = [
        {"id": "welcome", "type": "send_message", "priority": "service",
         "text": "{customer_name}您好，我是您的专属顾问{staff_name}，欢迎来到{store}！", "next": "pause"},
        {"id": "pause", "type": "wait", "duration": {"minutes": 30}, "next": "ask_order"},
        {"id": "ask_order", "type": "send_message", "priority": "service",
         "text": "方便发一下您的订单号吗？绑定后可享会员积分和售后服务。", "next": "wait_bind"},
        {"id": "wait_bind", "type": "wait_event", "event": p.get("bind_event", "Order Bound"),
         "timeout": {"days": 3}, "next": bound_next, "timeout_next": "remind"},
    ]
    if p.get("bound_tag_id"):
        nodes.append({"id": "tag_bound", "type": "add_tag", "tag_id": p["bound_tag_id"],
                      "next": reward[0]["id"] if reward else "converted"})
    nodes += reward
    nodes += [{"id": "converted", "type": "goal"},
              {"id": "remind", "type": "send_message", "text": "还没收到您的订单号哦，绑定后积分立即到账～",
               "next": "done"},
              {"id": "done", "type": "exit"}]
    trigger: dict[str, Any] = {"type": "channel_code"}
    trigger.update({"channel_code_id": p["channel_code_id"]} if p.get("channel_code_id")
                   else {"state": p.get("state", "welcome")})
    return {"trigger": trigger, "reentry": {"mode": "once"}, "nodes": nodes}


def _post_purchase(p: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": {"type": "order_placed", "min_amount": p.get("min_amount", "0")},
            "reentry": {"mode": "after_exit"}, "goal": {"type": "order_placed", "within_days": 30},
            "nodes": [
                {"id": "settle", "type": "wait", "duration": {"days": 2}, "next": "morning"},
                {"id": "morning", "type": "wait_until", "time": "10:00", "next": "care"},
                {"id": "care", "type": "send_message", "priority": "transactional",
                 "text": "{customer_name}，商品用得还习惯吗？有任何问题随时找我～", "next": "week"},
                {"id": "week", "type": "wait", "duration": {"days": 7}, "next": "review"},
                {"id": "review", "type": "send_message", "text": "方便给我们一个评价吗？您的反馈对我们很重要。"}]}


def _win_back(p: dict[str, Any]) -> dict[str, Any]:
    trigger: dict[str, Any] = ({"type": "segment_entered", "segment_id": p["segment_id"]} if p.get("segment_id")
                               else {"type": "manual"})
    offer: dict[str, Any] = ({"id": "offer", "type": "issue_coupon", "coupon_template_id": p["coupon_template_id"],
                              "next": "message_a"} if p.get("coupon_template_id") else None)
    nodes: list[dict[str, Any]] = [
        {"id": "ab", "type": "split", "branches": [
            {"key": "A", "weight": 45, "next": "offer" if offer else "message_a"},
            {"key": "B", "weight": 45, "next": "message_b"},
            {"key": "holdout", "weight": 10, "next": "holdout"}]},
    ]
    if offer:
        nodes.append(offer)
    nodes += [
        {"id": "message_a", "type": "send_message", "text": "{customer_name}，好久不见！送您一张回归券，期待再次见到您。",
         "next": "wait"},
        {"id": "message_b", "type": "send_message", "text": "{customer_name}，新品上市了，来看看有没有您喜欢的？",
         "next": "wait"},
        {"id": "wait", "type": "wait", "duration": {"days": 7}, "next": "reminder"},
        {"id": "reminder", "type": "send_message", "text": "您的专属福利还有几天到期哦～"},
        {"id": "holdout", "type": "exit"}]
    return {"trigger": trigger, "reentry": {"mode": "after_days", "days": 60},
            "goal": {"type": "order_placed", "within_days": 14, "exit": True}, "nodes": nodes}


def _points_expiry(p: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": {"type": "date_trait", "trait": "points_expiring", "days_before": p.get("days", 7),
                        "at": "10:00"},
            "reentry": {"mode": "after_days", "days": 30},
            "nodes": [{"id": "remind", "type": "send_message", "priority": "transactional",
                       "text": "{customer_name}，您有 {points} 积分将在 7 天内过期，到店或线上商城即可兑换好礼。"}]}


def _birthday(p: dict[str, Any]) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    if p.get("coupon_template_id"):
        nodes.append({"id": "gift", "type": "issue_coupon", "coupon_template_id": p["coupon_template_id"],
                      "next": "greet"})
    nodes.append({"id": "greet", "type": "send_message",
                  "text": "{customer_name}，生日快乐！为您准备了一份生日礼券，生日当周到店使用～"})
    return {"trigger": {"type": "date_trait", "trait": "birthday", "days_before": 3, "at": "10:00"},
            "reentry": {"mode": "after_days", "days": 300}, "nodes": nodes}


def _weather(p: dict[str, Any]) -> dict[str, Any]:
    trigger: dict[str, Any] = ({"type": "segment_entered", "segment_id": p["segment_id"]} if p.get("segment_id")
                               else {"type": "manual"})
    return {"trigger": trigger, "reentry": {"mode": "after_exit"}, "nodes": [
        {"id": "morning", "type": "wait_until", "time": "08:00", "next": "weather"},
        {"id": "weather", "type": "context_branch", "provider": "weather", "branches": [
            {"when": "hot", "next": "iced"}, {"when": "rainy", "next": "warm"}, {"when": "cold", "next": "warm"}],
         "default": "classic"},
        {"id": "iced", "type": "send_message", "text": "今天好热！来杯冰爽生椰拿铁降降温吧～"},
        {"id": "warm", "type": "send_message", "text": "天气转凉/下雨了，一杯热拿铁暖暖身子～"},
        {"id": "classic", "type": "send_message", "text": "早安！今天也来一杯经典美式开启元气一天吧～"}]}


TEMPLATES = {"welcome": _welcome, "post_purchase": _post_purchase, "win_back": _win_back,
             "points_expiry": _points_expiry, "birthday": _birthday, "weather": _weather}


def build(key: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The draft definition of template ``key``."""
    maker = TEMPLATES.get(key)
    if maker is None:
        raise NotFound("error.journey_template_not_found", field="template")
    return copy.deepcopy(maker(dict(params or {})))
