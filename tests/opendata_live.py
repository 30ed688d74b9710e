"""A real HTTP server on 127.0.0.1 with committed places, for clients we did not write (GDAL)."""

from __future__ import annotations

import os
import random
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text
from werkzeug.serving import make_server

from tests.finder_fixtures import HOSTILE_NAMES
from web import create_app

SOURCE = "opendata-live"
KINDS = ("station", "reading_nook", "breakfast_point", "driver_home")
STATUSES = ("active", "active", "active", "suspended", "closed", "planned")
AMENITY_SETS = (["water"], ["water", "toilet"], [], ["charging", "microwave", "seating"])
# Two instants for the datetime filter: half the places changed at each.
OLD = datetime(2024, 3, 1, 4, 0, tzinfo=UTC)
NEW = datetime(2025, 9, 1, 4, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Live:
    """A running server and the engine of its database."""

    url: str
    engine: Engine


def insert_places(engine: Engine, n: int, *, seed: int = 14) -> None:
    """Commit ``n`` places across China with full-precision coordinates."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        name = HOSTILE_NAMES[i % len(HOSTILE_NAMES)] if i % 17 == 0 else f"驿站 {i}"
        if i % 23 == 0:
            name = "{{7*191}} =1+2"
        rows.append(
            {
                "kind": KINDS[i % 4],
                "name": name,
                "status": STATUSES[i % len(STATUSES)],
                "ext": f"live-{i}",
                "lon": rng.uniform(75.0, 134.0),
                "lat": rng.uniform(18.5, 52.0),
                "amenities": AMENITY_SETS[(i // 4) % len(AMENITY_SETS)],
                "hours": "24/7" if i % 3 == 0 else "Mo-Fr 08:00-18:00",
                "updated": OLD if i % 2 else NEW,
                "capacity": i % 11 if i % 5 == 0 else None,
            }
        )
    with engine.begin() as conn:
        conn.execute(
            text("""
            INSERT INTO places (kind, name, status, source, external_id, source_crs, geom,
                                amenities, opening_hours, updated_at, capacity, address)
            VALUES (:kind, :name, :status, 'opendata-live', :ext, 'wgs84',
                    ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :amenities, :hours, :updated,
                    :capacity, '<b>地址</b>')"""),
            rows,
        )


def delete_places(engine: Engine) -> None:
    """Remove the committed places and the tombstones their deletion leaves."""
    with engine.begin() as conn:
        ids = [
            r[0]
            for r in conn.execute(text("SELECT id FROM places WHERE source = :s"), {"s": SOURCE})
        ]
        conn.execute(text("DELETE FROM places WHERE source = :s"), {"s": SOURCE})
        conn.execute(text("DELETE FROM place_tombstones WHERE id = ANY(:ids)"), {"ids": ids})


@contextmanager
def serve(
    database_url: str, engine: Engine, *, n: int = 300, config: dict[str, object] | None = None
) -> Iterator[Live]:
    """Commit ``n`` places, serve the app on a free port, yield, then clean up."""
    insert_places(engine, n)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "live-test",
            "SESSION_COOKIE_SECURE": False,
            **(config or {}),
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(f"http://127.0.0.1:{server.server_port}", engine)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        database = app.extensions["yitu.db"]
        for pool in (database.engine, getattr(database, "batch_engine", None)):
            if pool is not None:
                pool.dispose()
        delete_places(engine)


def gdal(*args: str) -> str:
    """Run a Debian GDAL command (ogrinfo, ogr2ogr) and return its standard output."""
    env = {
        **os.environ,
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
        "GDAL_HTTP_TIMEOUT": "60",
        "CPL_VSIL_CURL_USE_HEAD": "NO",
    }
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(key, None)
    done = subprocess.run(
        list(args), capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, f"{args[0]} failed ({done.returncode}): {done.stderr[-2000:]}"
    return done.stdout
