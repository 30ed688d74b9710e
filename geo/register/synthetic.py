"""Invented hardship households for the demo city, labelled synthetic everywhere.

Coordinates are WGS-84 degrees.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from faker import Faker

from geo.register.households import CATEGORIES, HouseholdRecord, validate

#: Source name of generated households; every page marks them synthetic.
SYNTHETIC_SOURCE = "synthetic-demo"

# Xining (the demo city), WGS-84 degrees: where demo households are placed.
DEMO_CENTRE = (101.778, 36.617)


def synthetic_households(
    count: int, *, seed: int, centre: tuple[float, float] = DEMO_CENTRE, adcode: str | None = None
) -> list[HouseholdRecord]:
    """Generate ``count`` invented households with Faker's zh_CN locale.

    Households cluster (as real ones do, around old residential compounds)
    in a dozen neighbourhoods within about 8 km of ``centre`` (WGS-84), so
    the planners' k-anonymous cells have something to show.  Every record
    is ``is_synthetic`` and numbered ``DEMO-...``.
    """
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = np.random.default_rng(seed)
    clusters = rng.normal(loc=centre, scale=(0.05, 0.035), size=(12, 2))
    weights = rng.dirichlet(np.ones(len(clusters)) * 0.8)
    records = []
    for i in range(count):
        lon, lat = rng.normal(clusters[rng.choice(len(clusters), p=weights)], (0.004, 0.003))
        records.append(
            validate(
                HouseholdRecord(
                    source=SYNTHETIC_SOURCE,
                    household_no=f"DEMO-{i + 1:05d}",
                    name=fake.name(),
                    adcode=adcode or "000000",
                    category=CATEGORIES[int(rng.integers(0, len(CATEGORIES)))],
                    id_number=fake.ssn(min_age=20, max_age=70),  # type: ignore[call-arg]
                    phone=fake.phone_number(),
                    address=fake.address(),
                    employer=fake.company(),
                    lon=round(float(lon), 6),
                    lat=round(float(lat), 6),
                    members=int(rng.integers(1, 7)),
                    registered_on=date(2020, 1, 1) + timedelta(days=int(rng.integers(0, 1800))),
                    is_synthetic=True,
                )
            )
        )
    return records
