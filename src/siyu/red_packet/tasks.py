"""Red packets reach the payment provider through the outbox: importing this module registers the
``payment`` deliverer (``red_packet.payment``) and the WeCom / WeChat Pay adapter."""

from __future__ import annotations

import siyu.integrations.wecom.payment  # noqa: F401 — registers the wecom_pay adapter
import siyu.red_packet.payment  # noqa: F401 — registers the deliverer
