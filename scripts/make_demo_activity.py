"""Write the demo city's invented rider activity: data/demo/xining_activity.csv.gz.

    .venv/bin/python scripts/make_demo_activity.py [OUT]

Deterministic (fixed seed, gzip without a timestamp): running it again
rewrites the same bytes.  Every row is invented: 240 fictional riders
(``demo-rider-001`` ...) over one week (Monday 4 to Sunday 10 March 2024,
Asia/Shanghai local time), their pickups and drop-offs drawn around
authored activity hubs of Xining.  Coordinates are WGS-84.  See the section
"Rider activity" in data/demo/README.md.
"""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.places.areas import find_area  # noqa: E402

OUT = ROOT / "data" / "demo" / "xining_activity.csv.gz"
SEED = 20240304
RIDERS = 240
FIRST_DAY = pd.Timestamp("2024-03-04")  # a Monday

# Authored hubs (name, lon, lat WGS-84, spread in metres, share of activity):
# built-up areas of the demo city.  Most sit where the demo stations are;
# three do not (the old centre's shopping streets north of the demo
# stations, a new residential area in the north-west and the university
# district in the far north), so the planner has real gaps to find.
# Positions are approximate, not particular businesses.
HUBS: tuple[tuple[str, float, float, float, float], ...] = (
    ("chengzhong", 101.7620, 36.5850, 600, 0.17),
    ("old-centre", 101.7790, 36.6180, 500, 0.15),  # gap: no demo station within 500 m
    ("chengdong", 101.8120, 36.6150, 700, 0.14),
    ("chengxi", 101.7200, 36.6290, 700, 0.13),
    ("chengbei", 101.7690, 36.6650, 600, 0.12),
    ("haihu-new", 101.6920, 36.6480, 600, 0.10),  # gap: north of the 城西 stations
    ("university", 101.7550, 36.7150, 700, 0.09),  # gap: far north
    ("lushaer", 101.5720, 36.5020, 500, 0.06),  # 湟中区 county seat
    ("duoba", 101.6170, 36.6330, 500, 0.04),  # 湟中区 多巴镇
)

# Relative activity per hour of a weekday (0..23): breakfast, lunch and
# dinner peaks, a quiet night.  Weekends start later and peak at dinner.
WEEKDAY = np.array(
    [
        0.3,
        0.2,
        0.1,
        0.1,
        0.1,
        0.3,
        1.0,
        2.2,
        2.6,
        1.6,
        1.8,
        4.6,
        5.2,
        3.4,
        1.6,
        1.4,
        1.8,
        3.6,
        4.4,
        3.8,
        2.2,
        1.4,
        0.9,
        0.5,
    ]
)
WEEKEND = np.array(
    [
        0.5,
        0.4,
        0.2,
        0.1,
        0.1,
        0.1,
        0.3,
        0.8,
        1.4,
        1.8,
        2.4,
        4.2,
        4.8,
        3.6,
        2.2,
        1.8,
        2.2,
        3.8,
        5.0,
        4.6,
        2.8,
        1.8,
        1.2,
        0.8,
    ]
)
ROWS = 30_000


def main(out: Path = OUT) -> None:
    """Generate the week of invented pings and write them gzipped to ``out``."""
    rng = np.random.default_rng(SEED)
    city = find_area("西宁市").geometry
    share = np.array([h[4] for h in HUBS])
    # Riders work around a home hub, sometimes elsewhere.
    rider_hub = rng.choice(len(HUBS), RIDERS, p=share / share.sum())
    day_weights = np.concatenate([WEEKDAY] * 5 + [WEEKEND] * 2)
    hours = rng.choice(7 * 24, ROWS, p=day_weights / day_weights.sum())
    riders = rng.integers(0, RIDERS, ROWS)
    elsewhere = rng.random(ROWS) < 0.25
    hub = np.where(elsewhere, rng.choice(len(HUBS), ROWS, p=share / share.sum()), rider_hub[riders])
    lon0 = np.array([h[1] for h in HUBS])[hub]
    lat0 = np.array([h[2] for h in HUBS])[hub]
    spread = np.array([h[3] for h in HUBS])[hub]
    east_m = rng.standard_normal(ROWS) * spread
    north_m = rng.standard_normal(ROWS) * spread
    lat = lat0 + north_m / 111_000.0
    lon = lon0 + east_m / (111_000.0 * np.cos(np.radians(lat0)))
    import shapely

    inside = shapely.intersects_xy(city, lon, lat)
    seconds = rng.integers(0, 3600, ROWS)
    stamp = FIRST_DAY + pd.to_timedelta(hours * 3600 + seconds, unit="s")
    frame = pd.DataFrame(
        {
            "rider_id": [f"demo-rider-{r + 1:03d}" for r in riders],
            "time": stamp.strftime("%Y-%m-%d %H:%M:%S"),
            "lng": np.round(lon, 6),
            "lat": np.round(lat, 6),
        }
    )[inside].sort_values(["time", "rider_id"], kind="stable")
    text = io.StringIO()
    frame.to_csv(text, index=False, lineterminator="\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        out.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as packed,
    ):
        packed.write(text.getvalue().encode("utf-8"))
    print(f"wrote {out}: {len(frame)} invented pings of {RIDERS} fictional riders")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
