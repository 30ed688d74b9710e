"""The one local time zone of the app's data: Asia/Shanghai (UTC+8, no daylight saving).

Every local time the app shows, parses or exports is China Standard Time;
this module is the only place that names it.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

TZ_NAME = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ_NAME)
#: China has kept UTC+8 all year since 1991, so the offset is a constant.
UTC_OFFSET = timedelta(hours=8)
