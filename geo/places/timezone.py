"""The one local time zone of the app's data: Asia/Shanghai (UTC+8, no daylight saving)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
