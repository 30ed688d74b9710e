"""Author the demo city of Xining (西宁): data/demo/xining_places.geojson.

Usage::

    .venv/bin/python scripts/make_demo.py                 # rewrite data/demo/xining_places.geojson
    .venv/bin/python scripts/make_demo.py --out /tmp/x.geojson

Everything in the output is invented for demonstrations: the places are
shaped on the Qinghai and Xining trade unions' published figures (28 stations
in Xining's 7 districts, 10 self-built and 18 co-built; 18 designated
breakfast restaurants in 城中区) but no name, address, telephone number or
position is a real station's.  Every name ends in ``（演示）``, every
telephone number is ``0971-0000xxxx`` (no such numbers exist), and every
feature carries ``is_demo: true`` and a ``demo_notice``.

The positions are drawn with a fixed seed, so the file is the same on every
run: inside the authored built-up cores of each district (a few discs around
the county seats and the city centre, clipped to the official district
polygon of ``geo.places.districts`` and pulled 150 m inside its border), with a
minimum spacing so stations do not pile up.  Each position is then checked
with ``geo.places.districts.assign_districts``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.places.areas import districts_geodataframe  # noqa: E402
from geo.places.crs import local_metric_crs  # noqa: E402
from geo.places.districts import assign_districts  # noqa: E402
from geo.places.vocabulary import (  # noqa: E402
    AMENITIES,
    HOST_TYPES,
    SIX_HAVE_KEYS,
    BuildMode,
    Kind,
    Status,
)

OUT = ROOT / "data" / "demo" / "xining_places.geojson"
SEED = 20_240_628  # any fixed number: the file must not change between runs
DEMO_SOURCE = "demo:xining"
DEMO_NOTICE = (
    "演示数据（虚构）：本点位是驿图演示城市西宁的虚构示例，不是真实的服务站点，名称、地址、"
    "电话和位置均为编造，请勿前往或拨打。 Demo data (fictional): an invented place of Yitu's "
    "demo city Xining, not a real station; name, address, phone and position are made up."
)
DEMO_SUFFIX = "（演示）"
INSET_M = 150.0  # keep points this far inside their district's border
PROVINCE, CITY = "青海省", "西宁市"

# The seven districts of Xining (official names, as geo.places.districts has them).
DISTRICTS: tuple[str, ...] = (
    "城中区",
    "城东区",
    "城西区",
    "城北区",
    "湟中区",
    "大通回族土族自治县",
    "湟源县",
)

# Authored built-up cores, WGS-84: area -> (district, discs of lon, lat,
# radius in metres).  Rough discs around the city centre and the county
# seats, drawn by hand from general knowledge of where Xining is built up
# (the Huangshui valley and the Nanchuan and Beichuan valleys that join it);
# they only need to keep the demo points in town, not to be accurate.
CORES: dict[str, tuple[str, tuple[tuple[float, float, float], ...]]] = {
    "城中区": ("城中区", ((101.778, 36.615, 1500.0), (101.765, 36.585, 1500.0))),
    "城东区": ("城东区", ((101.815, 36.615, 1800.0),)),
    "城西区": ("城西区", ((101.755, 36.630, 1400.0), (101.715, 36.640, 1500.0))),
    "城北区": ("城北区", ((101.765, 36.665, 1500.0),)),
    "鲁沙尔镇": ("湟中区", ((101.568, 36.498, 1200.0),)),
    "多巴镇": ("湟中区", ((101.610, 36.640, 1200.0),)),
    "桥头镇": ("大通回族土族自治县", ((101.683, 36.930, 1200.0),)),
    "城关镇": ("湟源县", ((101.256, 36.683, 1000.0),)),
    # The drivers' home sits on the road north out of the city (宁张公路).
    "宁张公路": ("城北区", ((101.745, 36.700, 900.0),)),
}


@dataclass(frozen=True)
class Spec:
    """One authored place before it gets a position."""

    kind: str
    district: str
    name: str  # without the demo suffix
    name_en: str  # without "(demo)"
    street: str  # a street, or a town/road that is a key of CORES
    host_type: str
    build_mode: str | None
    hours: str
    status: str = Status.ACTIVE.value
    capacity: tuple[int, int] = (6, 16)
    inside: str | None = None  # name of the station a reading nook sits in
    extra: tuple[str, ...] = ()


S, C = BuildMode.SELF_BUILT.value, BuildMode.CO_BUILT.value
ACTIVE, SUSPENDED, PLANNED = Status.ACTIVE.value, Status.SUSPENDED.value, Status.PLANNED.value

# The 28 stations: 10 self-built, 18 co-built, in all 7 districts.
STATIONS: tuple[Spec, ...] = (
    Spec(
        "station",
        "城中区",
        "西宁市工人文化宫职工驿站",
        "Xining Workers' Cultural Palace station",
        "西大街",
        "union",
        S,
        "08:30-20:30",
        capacity=(30, 40),
        extra=("reading", "women_room", "legal_aid", "job_notices", "toilet", "wifi"),
    ),
    Spec(
        "station",
        "城中区",
        "南大街社区暖心驿站",
        "Nandajie community station",
        "南大街",
        "community",
        C,
        "周一至周五 08:30-12:00,14:30-18:00",
    ),
    Spec(
        "station",
        "城中区",
        "南川东路银行网点爱心驿站",
        "Nanchuan East Road bank station",
        "南川东路",
        "bank",
        C,
        "周一至周五 09:00-17:00",
    ),
    Spec(
        "station",
        "城中区",
        "城中区环卫作业站户外劳动者驿站",
        "Chengzhong sanitation depot station",
        "南川西路",
        "sanitation",
        S,
        "24小时",
        extra=("microwave", "toilet"),
    ),
    Spec(
        "station",
        "城中区",
        "南关街药店爱心驿站",
        "Nanguanjie pharmacy station",
        "南关街",
        "pharmacy",
        C,
        "08:00-22:00",
        extra=("first_aid",),
    ),
    Spec(
        "station",
        "城中区",
        "莫家街商场户外劳动者港湾",
        "Mojiajie mall station",
        "莫家街",
        "shop",
        C,
        "每天 09:30-21:30",
        status=SUSPENDED,
    ),
    Spec(
        "station",
        "城东区",
        "八一路公交枢纽暖心驿站",
        "Bayi Road bus hub station",
        "八一路",
        "transport",
        C,
        "06:30-21:00",
    ),
    Spec(
        "station",
        "城东区",
        "东关大街社区爱心驿站",
        "Dongguan Street community station",
        "东关大街",
        "community",
        C,
        "工作日开放",
    ),
    Spec(
        "station",
        "城东区",
        "城东区总工会职工驿站",
        "Chengdong union station",
        "建国路",
        "union",
        S,
        "周一至周五 08:30-17:30",
        extra=("reading", "legal_aid"),
    ),
    Spec(
        "station",
        "城东区",
        "建国路加油站司乘驿站",
        "Jianguo Road petrol station stop",
        "建国路",
        "petrol_station",
        C,
        "24小时",
        extra=("toilet",),
    ),
    Spec(
        "station",
        "城东区",
        "城东区政务服务大厅驿站",
        "Chengdong government hall station",
        "八一路",
        "government",
        C,
        "周一至周五 09:00-12:00,13:30-17:30",
        status=PLANNED,
    ),
    Spec(
        "station",
        "城西区",
        "五四大街银行网点暖心驿站",
        "Wusi Street bank station",
        "五四大街",
        "bank",
        C,
        "周一至周日 09:00-17:00",
    ),
    Spec(
        "station",
        "城西区",
        "海湖大道快递分拨中心驿站",
        "Haihu Avenue parcel depot station",
        "海湖大道",
        "enterprise",
        C,
        "07:00-21:00",
        extra=("battery_swap", "repair"),
    ),
    Spec(
        "station",
        "城西区",
        "胜利路社区爱心驿站",
        "Shengli Road community station",
        "胜利路",
        "community",
        C,
        "08:00-20:00",
    ),
    Spec(
        "station",
        "城西区",
        "城西区环卫工人驿站",
        "Chengxi sanitation workers' station",
        "西关大街",
        "sanitation",
        S,
        "全天24小时开放",
        extra=("microwave", "toilet"),
    ),
    Spec(
        "station",
        "城西区",
        "文汇路户外劳动者暖心驿站（独立站房）",
        "Wenhui Road stand-alone station",
        "文汇路",
        "other",
        S,
        "8:00—21:00",
    ),
    Spec(
        "station",
        "城北区",
        "小桥大街社区暖心驿站",
        "Xiaoqiao Street community station",
        "小桥大街",
        "community",
        C,
        "周一至周六 08:30-18:30",
    ),
    Spec(
        "station",
        "城北区",
        "柴达木路政务服务驿站",
        "Qaidam Road government hall station",
        "柴达木路",
        "government",
        C,
        "周一至周五 09:00-17:00",
    ),
    Spec(
        "station",
        "城北区",
        "城北区总工会职工驿站",
        "Chengbei union station",
        "朝阳西路",
        "union",
        S,
        "08:00-18:00",
        extra=("reading", "women_room"),
    ),
    Spec(
        "station",
        "城北区",
        "朝阳环卫工人驿站",
        "Chaoyang sanitation workers' station",
        "朝阳东路",
        "sanitation",
        S,
        "24小时",
        extra=("microwave",),
    ),
    Spec(
        "station",
        "城北区",
        "宁张路加油站爱心驿站",
        "Ningzhang Road petrol station stop",
        "宁张路",
        "petrol_station",
        C,
        "24小时",
        status=SUSPENDED,
    ),
    Spec(
        "station",
        "湟中区",
        "鲁沙尔镇职工驿站",
        "Lushaer town union station",
        "鲁沙尔镇",
        "union",
        S,
        "08:30-18:00",
        extra=("reading",),
    ),
    Spec(
        "station",
        "湟中区",
        "多巴镇客运站暖心驿站",
        "Duoba coach station station",
        "多巴镇",
        "transport",
        C,
        "07:00-19:00",
        extra=("toilet",),
    ),
    Spec(
        "station",
        "湟中区",
        "湟中区便民服务中心驿站",
        "Huangzhong service centre station",
        "鲁沙尔镇",
        "government",
        C,
        "工作日开放",
        status=PLANNED,
    ),
    Spec(
        "station",
        "大通回族土族自治县",
        "桥头镇职工驿站",
        "Qiaotou town union station",
        "桥头镇",
        "union",
        S,
        "夏季 08:00-20:00，冬季 09:00-18:00",
    ),
    Spec(
        "station",
        "大通回族土族自治县",
        "大通县客运站爱心驿站",
        "Datong coach station station",
        "桥头镇",
        "transport",
        C,
        "06:30-19:30",
    ),
    Spec(
        "station",
        "湟源县",
        "湟源县职工驿站",
        "Huangyuan union station",
        "城关镇",
        "union",
        S,
        "08:00-19:00",
    ),
    Spec(
        "station",
        "湟源县",
        "湟源县城关镇银行网点驿站",
        "Huangyuan bank station",
        "城关镇",
        "bank",
        C,
        "周一至周五 09:00-17:00",
    ),
)

# Seven reading nooks: four inside stations, three on their own.
READING_NOOKS: tuple[Spec, ...] = (
    Spec(
        "reading_nook",
        "城中区",
        "西宁市工人文化宫职工书屋",
        "Workers' Cultural Palace reading room",
        "西大街",
        "union",
        S,
        "周二至周日 09:00-17:30",
        capacity=(20, 30),
        inside="西宁市工人文化宫职工驿站",
    ),
    Spec(
        "reading_nook",
        "城东区",
        "城东区总工会职工便利型阅读点",
        "Chengdong union reading corner",
        "建国路",
        "union",
        S,
        "周一至周五 08:30-17:30",
        inside="城东区总工会职工驿站",
    ),
    Spec(
        "reading_nook",
        "城北区",
        "城北区总工会驿站职工书屋",
        "Chengbei union reading corner",
        "朝阳西路",
        "union",
        S,
        "08:00-18:00",
        inside="城北区总工会职工驿站",
    ),
    Spec(
        "reading_nook",
        "湟中区",
        "鲁沙尔镇职工驿站阅读点",
        "Lushaer reading corner",
        "鲁沙尔镇",
        "union",
        S,
        "08:30-18:00",
        inside="鲁沙尔镇职工驿站",
    ),
    Spec(
        "reading_nook",
        "城中区",
        "南川社区职工书屋",
        "Nanchuan community reading room",
        "南川东路",
        "community",
        C,
        "周一至周五 09:00-12:00,14:00-17:30",
    ),
    Spec(
        "reading_nook",
        "城西区",
        "海湖城市书房",
        "Haihu city reading room",
        "海湖大道",
        "community",
        C,
        "10:00-21:00",
        capacity=(20, 40),
    ),
    Spec(
        "reading_nook",
        "大通回族土族自治县",
        "桥头镇企业职工书屋",
        "Qiaotou company reading room",
        "桥头镇",
        "enterprise",
        C,
        "工作日开放",
    ),
)

DRIVER_HOMES: tuple[Spec, ...] = (
    Spec(
        "driver_home",
        "城北区",
        "宁张公路货车司机之家",
        "Ningzhang Road truck drivers' home",
        "宁张公路",
        "petrol_station",
        C,
        "24小时",
        capacity=(12, 20),
        extra=("shower", "toilet", "microwave", "repair", "wifi", "first_aid"),
    ),
)

# 18 designated breakfast restaurants in 城中区 (the union's figure).
_BREAKFAST_DISHES = (
    ("牛肉面馆", "beef noodle restaurant"),
    ("包子铺", "steamed bun shop"),
    ("杂碎汤馆", "offal soup restaurant"),
    ("馍馍店", "bread shop"),
    ("粥铺", "congee shop"),
    ("清真早餐店", "halal breakfast shop"),
)
_BREAKFAST_STREETS = ("南大街", "南关街", "南川东路", "南川西路", "莫家街", "西大街")
_BREAKFAST_HOURS = (
    "06:00-09:00",
    "每天 06:00-09:00",
    "06:30-09:00",
    "周一至周六 06:00-08:30",
    "早上6:00-9:00",
)
BREAKFAST_POINTS: tuple[Spec, ...] = tuple(
    Spec(
        "breakfast_point",
        "城中区",
        f"{_BREAKFAST_STREETS[i % 6]}{_BREAKFAST_DISHES[i % 6][0]}暖心早餐点{i + 1:02d}",
        f"{_BREAKFAST_DISHES[i % 6][1].capitalize()} breakfast point {i + 1:02d}",
        _BREAKFAST_STREETS[i % 6],
        "restaurant",
        None,
        _BREAKFAST_HOURS[i % 5],
        capacity=(10, 30),
    )
    for i in range(18)
)

# Amenities every active place of a kind offers; the plateau's cold nights
# make heating and hot water the first things a station needs.
BASE_AMENITIES: dict[str, tuple[str, ...]] = {
    "station": ("seating", "water", "hot_water", "heating", "charging"),
    "reading_nook": ("seating", "reading", "hot_water", "heating"),
    "breakfast_point": ("meals", "hot_water", "seating", "heating"),
    "driver_home": ("seating", "water", "hot_water", "heating", "charging", "meals"),
}
OPTIONAL_AMENITIES = (
    "microwave",
    "first_aid",
    "wifi",
    "umbrella",
    "toilet",
    "repair",
    "battery_swap",
    "fridge",
    "job_notices",
)
KIND_CODES = {"station": "ST", "reading_nook": "RN", "breakfast_point": "BF", "driver_home": "DH"}


def _metric_regions(to_m: pyproj.Transformer) -> dict[str, shapely.Geometry]:
    """Each district's core discs, clipped to its polygon and inset, in metres."""
    frame = districts_geodataframe(city=CITY)
    polygons = dict(zip(frame["district"], frame.geometry, strict=True))

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(to_m.transform(xy[:, 0], xy[:, 1]))

    regions: dict[str, shapely.Geometry] = {}
    for key, (district, discs) in CORES.items():
        inner = shapely.transform(polygons[district], project).buffer(-INSET_M)
        disc_union = shapely.union_all(
            [shapely.Point(*to_m.transform(lon, lat)).buffer(r) for lon, lat, r in discs]
        )
        region = inner.intersection(disc_union)
        if region.area < 0.5e6:
            raise SystemExit(f"core of {key} is only {region.area / 1e6:.2f} km2 inside it")
        regions[key] = region
    return regions


def _sample(
    rng: np.random.Generator,
    region: shapely.Geometry,
    taken: list[tuple[float, float]],
    *,
    spacing_m: float,
) -> tuple[float, float]:
    """A uniform random point of ``region`` at least ``spacing_m`` from ``taken``."""
    minx, miny, maxx, maxy = region.bounds
    shapely.prepare(region)
    for _ in range(20_000):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not shapely.contains_xy(region, x, y):
            continue
        if all((x - a) ** 2 + (y - b) ** 2 >= spacing_m**2 for a, b in taken):
            taken.append((x, y))
            return x, y
    raise SystemExit("could not place a point: region too small for the spacing")


def _amenities(rng: np.random.Generator, spec: Spec) -> list[str]:
    chosen = list(BASE_AMENITIES[spec.kind]) + list(spec.extra)
    if spec.kind == "station":
        k = int(rng.integers(1, 4))
        chosen += [str(a) for a in rng.choice(OPTIONAL_AMENITIES, size=k, replace=False)]
    # Vocabulary order, without repeats: easier to read and to diff.
    return [code for code in AMENITIES if code in set(chosen)]


def _six_haves(rng: np.random.Generator, spec: Spec) -> dict[str, bool]:
    if spec.status == PLANNED:
        return {key: key == "layout" for key in SIX_HAVE_KEYS}
    if spec.build_mode == S:
        return {key: True for key in SIX_HAVE_KEYS}
    # Co-built places sometimes lack a unified sign or written rules.
    return {key: key == "on_map" or bool(rng.random() < 0.95) for key in SIX_HAVE_KEYS}


def build_features(seed: int = SEED) -> list[dict[str, Any]]:
    """Author every demo place as a GeoJSON Feature (WGS-84)."""
    rng = np.random.default_rng(seed)
    lon0, lat0 = CORES["城中区"][1][0][:2]
    to_m = pyproj.Transformer.from_crs(4326, local_metric_crs(lon0, lat0), always_xy=True)
    regions = _metric_regions(to_m)
    frame = districts_geodataframe(city=CITY)
    adcodes = dict(zip(frame["district"], frame["adcode"], strict=True))
    if set(adcodes) != set(DISTRICTS):
        raise SystemExit(f"Xining's districts are {sorted(adcodes)}, expected {DISTRICTS}")
    taken: dict[str, list[tuple[float, float]]] = {}
    positions: dict[str, tuple[float, float]] = {}
    features: list[dict[str, Any]] = []
    counters: dict[str, int] = {}
    phone_no = 0

    groups = (
        (STATIONS, 500.0),
        (DRIVER_HOMES, 500.0),
        (READING_NOOKS, 300.0),
        (BREAKFAST_POINTS, 200.0),
    )
    for specs, spacing in groups:
        for spec in specs:
            if spec.inside is not None:
                x, y = positions[spec.inside]
            else:
                # A town or road named as the street has its own core.
                key = spec.street if spec.street in CORES else spec.district
                if CORES[key][0] != spec.district:
                    raise SystemExit(f"{spec.name}: area {key} is not in {spec.district}")
                x, y = _sample(
                    rng, regions[key], taken.setdefault(f"{spec.kind}:{key}", []), spacing_m=spacing
                )
                positions[spec.name] = (x, y)
            lon, lat = to_m.transform(x, y, direction="INVERSE")
            counters[spec.kind] = counters.get(spec.kind, 0) + 1
            number = f"{KIND_CODES[spec.kind]}{counters[spec.kind]:02d}"
            phone_no += 1
            # Each district's union federation runs its places; the city
            # federation runs its own Workers' Cultural Palace.
            union = "西宁市总工会" if "工人文化宫" in spec.name else f"{spec.district}总工会"
            where = f"（位于{spec.inside}{DEMO_SUFFIX}内）" if spec.inside else ""
            low, high = spec.capacity
            properties: dict[str, Any] = {
                "kind": spec.kind,
                "name": spec.name + DEMO_SUFFIX,
                "name_en": f"{spec.name_en} (demo)",
                "address": f"{PROVINCE}{CITY}{spec.district}{spec.street}（演示地址）{where}",
                "province": PROVINCE,
                "city": CITY,
                "district": spec.district,
                "adcode": adcodes[spec.district],
                "ledger_district": spec.district,
                "amenities": _amenities(rng, spec),
                "opening_hours_text": spec.hours,
                "status": spec.status,
                "host_type": spec.host_type,
                "build_mode": spec.build_mode,
                "capacity": int(rng.integers(low, high + 1)),
                "phone": f"0971-0000{phone_no:04d}",
                "managing_union": union,
                "station_no": f"XN-DEMO-{number}",
                "six_haves": _six_haves(rng, spec),
                "external_id": f"demo-xining-{number.lower()}",
                "is_demo": True,
                "demo_notice": DEMO_NOTICE,
            }
            features.append(
                {
                    "type": "Feature",
                    "id": properties["external_id"],
                    "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                    "properties": properties,
                }
            )
    return features


def check(features: list[dict[str, Any]]) -> None:
    """Fail loudly if any place breaks the rules the README promises."""
    lon = np.array([f["geometry"]["coordinates"][0] for f in features])
    lat = np.array([f["geometry"]["coordinates"][1] for f in features])
    found = assign_districts(lon, lat)
    for feature, (_, row) in zip(features, found.iterrows(), strict=True):
        p = feature["properties"]
        if (row["district"], row["adcode"], row["city"]) != (p["district"], p["adcode"], CITY):
            raise SystemExit(f"{p['name']} lands in {row['district']}, not {p['district']}")
        if p["kind"] not in {k.value for k in Kind} or p["host_type"] not in HOST_TYPES:
            raise SystemExit(f"{p['name']}: kind or host type outside the vocabulary")
        if not set(p["amenities"]) <= set(AMENITIES):
            raise SystemExit(f"{p['name']}: amenity outside the vocabulary")
        if not p["name"].endswith(DEMO_SUFFIX) or not p["opening_hours_text"]:
            raise SystemExit(f"{p['name']}: not labelled as demo or no hours")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="output GeoJSON")
    args = parser.parse_args(argv)
    features = build_features()
    check(features)
    collection = {
        "type": "FeatureCollection",
        "name": "xining_demo_places",
        "is_demo": True,
        "demo_notice": DEMO_NOTICE,
        "source": DEMO_SOURCE,
        "features": features,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(collection, ensure_ascii=False, indent=1) + "\n"
    args.out.write_text(text, encoding="utf-8")
    kinds: dict[str, int] = {}
    for f in features:
        kinds[f["properties"]["kind"]] = kinds.get(f["properties"]["kind"], 0) + 1
    print(f"wrote {args.out}: {len(features)} places {kinds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
