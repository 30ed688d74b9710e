"""Settings.  Each is overridable as an environment variable ``YITU_<NAME>``.

Nothing here reads the environment at import time; ``create_app`` layers
``Defaults``, then ``YITU_*`` variables, then the test config.
"""

from __future__ import annotations

from geo.db.engine import DEFAULT_DATABASE_URL
from geo.places.timezone import TZ_NAME


class Defaults:
    """Default settings, each with what it does."""

    # SQLAlchemy URL (psycopg 3 driver) of the PostGIS database.
    DATABASE_URL = DEFAULT_DATABASE_URL
    # Pooled connections per worker process, and seconds to wait for one
    # before answering 503 (so a stuck database never hangs a rider's phone).
    DATABASE_POOL_SIZE = 5
    DATABASE_POOL_TIMEOUT_S = 2.0
    # Seconds to open a new connection, and to pre-ping a pooled one, before
    # the request answers 503 (libpq counts at least 2).
    DATABASE_CONNECT_TIMEOUT_S = 2
    # Cap on one SQL statement of a web request, in milliseconds: the server
    # cancels it then, and the app closes the connection and answers 503 when
    # no answer came DATABASE_CONNECT_TIMEOUT_S later (a stuck server).
    DATABASE_STATEMENT_TIMEOUT_MS = 10_000
    # The same cap for CLI commands and other work outside a request (imports
    # of a million rows, exports, analyses), in milliseconds; 0 = none.
    BATCH_STATEMENT_TIMEOUT_MS = 3_600_000
    # TCP keepalive: seconds of silence before a probe and between probes; a
    # connection is dropped after 3 unanswered probes, or 3 x this many
    # seconds of unacknowledged data (a dead host or a cut network).
    DATABASE_KEEPALIVE_S = 5
    # Signs session cookies; set YITU_SECRET_KEY in production (`make run`
    # writes a random one to instance/secret_key when it is missing).
    SECRET_KEY: str | None = None
    # Refuse to start without YITU_SECRET_KEY instead of falling back to the
    # instance file (the container image sets it: each replica would otherwise
    # sign cookies with its own random key, lost on every restart).
    REQUIRE_SECRET_KEY = False
    # Largest request body accepted, in bytes (uploads included).
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024
    # Session cookies: Secure needs HTTPS; `make run` turns it off for plain
    # http on 127.0.0.1.  Lifetime in seconds.
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    # Map tiles: URL template, attribution, and the CRS the tiles are drawn
    # in ("wgs84" for OpenStreetMap, "gcj02" for Amap/Tencent).  Tiles are
    # fetched by the user's browser; the server never downloads them.
    TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    TILE_ATTRIBUTION = "&copy; OpenStreetMap contributors"
    TILE_CRS = "wgs84"
    # Subdomain letters for {s} in TILE_URL, and the deepest zoom the tiles have.
    TILE_SUBDOMAINS = "abc"
    TILE_MAX_ZOOM = 19
    # Origins allowed to frame /embed (space-separated CSP source list).
    EMBED_FRAME_ANCESTORS = "*"
    # Licence of the open data (/data, /ogc, tiles, snapshot files), and its
    # deed's URL (only http(s) links are shown; empty: none).
    OPENDATA_LICENCE = "CC BY 4.0"
    OPENDATA_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
    # Folder of `yitu export snapshot`'s files, served at /data; empty:
    # instance/opendata.
    OPENDATA_DIR = ""
    # Planner pages are open to anyone only when this is on (off by default).
    PLANNER_PUBLIC = False
    # Languages offered, the first being the default.
    LANGUAGES = ("zh", "en")
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = TZ_NAME
    # Login attempts allowed per client address (Flask-Limiter syntax), and
    # where the limiter keeps its counters ("memory://" or a Redis URL).
    LOGIN_RATE_LIMIT = "10 per minute"
    RATELIMIT_STORAGE_URI = "memory://"
    # Client networks allowed to read /metrics (comma-separated CIDRs); anyone
    # else gets 404 (web/observability.py, docs/operations.md).
    METRICS_ALLOW = "127.0.0.1/32,::1/128"
    # --- accounts, households, privacy (issue 5; docs/security.md) ---
    # SQLAlchemy URL of the same database as the ``yitu_app`` role, used by
    # login, caseworker, auditor and household pages; DATABASE_URL should
    # then name the ``yitu_public`` role, which cannot read households.
    # Unset: DATABASE_URL serves both (single-user development only).
    PRIVATE_DATABASE_URL: str | None = None
    # File holding the base64 AES-256 household key (alternative to the
    # YITU_HOUSEHOLD_KEY variable, which create_app moves out of the config).
    HOUSEHOLD_KEY_FILE: str | None = None
    # Planner view of households: H3 resolution of the cells and the minimum
    # number of households a shown cell must hold (smaller cells are hidden).
    HOUSEHOLD_H3_RESOLUTION = 8
    HOUSEHOLD_K = 11
    # Per-account login attempts (on top of LOGIN_RATE_LIMIT per address).
    LOGIN_RATE_LIMIT_PER_ACCOUNT = "30 per hour"
    # Minimum password length for accounts.
    PASSWORD_MIN_LENGTH = 12
    # Reverse proxies in front of the app (nginx = 1).  When > 0, the client
    # address, scheme and host come from X-Forwarded-For/-Proto/-Host set by
    # that many proxies (rate limits per address, HSTS over HTTPS); 0 trusts none.
    TRUSTED_PROXIES = 0
    # Secret salt for hashing rider ids at import (HMAC-SHA256).  Unset: a
    # random one is created once in instance/rider_id_salt.  Keep it stable,
    # or re-imports count the same rider twice.
    RIDER_ID_SALT: str | None = None
    # Road networks the planner may use: {"name": "/path/to/drive.graphml"}.
    PLANNER_NETWORKS: dict[str, str] = {}
    # Candidate-site files the planner offers: {"name": {"path": ..., "crs": "gcj02"}}.
    PLANNER_CANDIDATES: dict[str, dict[str, str]] = {}
    # Seconds HiGHS may spend on one siting problem from the web page.
    PLANNER_TIME_LIMIT_S = 20
    # --- workers' reports, confirmations, check-ins (issue 10; docs/trust.md) ---
    # Facts unconfirmed for longer than this many days make a place stale.
    TRUST_STALE_AFTER_DAYS = 90
    # Reports, confirmations and check-ins allowed per client address, then
    # per place (all clients); counters in RATELIMIT_STORAGE_URI.
    TRUST_RATE_LIMIT_CLIENT = "20 per minute;200 per day"
    TRUST_RATE_LIMIT_PLACE = "120 per minute"
    # Key prefix of those counters.
    TRUST_RATELIMIT_PREFIX = "yitu-trust"
    # Largest report photo accepted, in bytes.
    TRUST_MAX_PHOTO_BYTES = 5 * 1024 * 1024
    # Public base URL printed in station QR codes (https://...); unset: the
    # address the request came in on.
    TRUST_PUBLIC_URL: str | None = None
