"""Generated (clearly fake) places for load tests and benchmarks.

Points cluster around real Chinese city centres so that densities look like
a national ledger: many stations in big cities, few in the countryside.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.places.vocabulary import AMENITIES

# (name, lon, lat, weight) of large city centres, WGS-84 degrees.
CITY_CENTRES: tuple[tuple[str, float, float, float], ...] = (
    ("北京", 116.40, 39.90, 8),
    ("上海", 121.47, 31.23, 8),
    ("广州", 113.26, 23.13, 6),
    ("深圳", 114.06, 22.54, 6),
    ("成都", 104.07, 30.57, 5),
    ("重庆", 106.55, 29.56, 5),
    ("武汉", 114.31, 30.59, 4),
    ("西安", 108.94, 34.34, 4),
    ("郑州", 113.63, 34.75, 4),
    ("杭州", 120.16, 30.27, 4),
    ("南京", 118.80, 32.06, 4),
    ("天津", 117.20, 39.13, 4),
    ("长沙", 112.94, 28.23, 3),
    ("沈阳", 123.43, 41.80, 3),
    ("哈尔滨", 126.63, 45.75, 3),
    ("昆明", 102.83, 24.88, 3),
    ("西宁", 101.78, 36.62, 2),
    ("海口", 110.35, 20.02, 2),
    ("乌鲁木齐", 87.62, 43.83, 2),
    ("拉萨", 91.11, 29.65, 1),
    ("兰州", 103.83, 36.06, 2),
    ("南宁", 108.37, 22.82, 2),
    ("福州", 119.30, 26.08, 2),
    ("济南", 117.12, 36.65, 3),
)
HOURS_TEXT = (
    "08:00-20:00",
    "周一至周五 09:00-17:00",
    "24小时",
    "07:30-22:30",
    "周一至周五 08:30-12:00,13:00-17:30",
)


def random_places(n: int, *, seed: int = 0, spread_deg: float = 0.25) -> pd.DataFrame:
    """Return ``n`` fake stations around city centres, as a ledger-shaped frame.

    Parameters
    ----------
    n
        Number of rows.
    seed
        Seed of the random generator: the same seed gives the same rows.
    spread_deg
        Standard deviation of the scatter around each centre, in degrees.

    Returns
    -------
    A frame with ledger columns (``名称``, ``地址``, ``经度``, ``纬度`` in WGS-84
    degrees, ``开放时间``, ``设施``, ``编号``).
    """
    rng = np.random.default_rng(seed)
    weights = np.array([c[3] for c in CITY_CENTRES], dtype=float)
    city = rng.choice(len(CITY_CENTRES), size=n, p=weights / weights.sum())
    lon = np.array([CITY_CENTRES[i][1] for i in city]) + rng.normal(0, spread_deg, n)
    lat = np.array([CITY_CENTRES[i][2] for i in city]) + rng.normal(0, spread_deg * 0.8, n)
    amenity_picks = rng.random((n, len(AMENITIES))) < 0.4
    return pd.DataFrame(
        {
            "编号": [f"GEN-{seed}-{i:07d}" for i in range(n)],
            "名称": [
                f"生成驿站{i}号（{CITY_CENTRES[c][0]}，测试数据）" for i, c in enumerate(city)
            ],
            "地址": [f"{CITY_CENTRES[c][0]}市测试路{i % 997}号" for i, c in enumerate(city)],
            "经度": lon.round(6),
            "纬度": lat.round(6),
            "开放时间": rng.choice(HOURS_TEXT, size=n),
            "设施": [
                "、".join(a for a, keep in zip(AMENITIES, row, strict=True) if keep)
                for row in amenity_picks
            ],
        }
    )
