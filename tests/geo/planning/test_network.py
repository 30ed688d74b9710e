"""Road-network distances: an L-shaped street checked by hand, and the real Futian graph."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from geo.errors import InvalidInput, LedgerError
from geo.planning.metric import project
from geo.planning.network import (
    load_graphml,
    network_cover_matrix,
    network_nearest,
    service_area_lines,
)
from geo.planning.reach import nearest_station

UTM51 = "EPSG:32651"
X0, Y0 = 350_000.0, 3_460_000.0


def l_street(tmp_path: Path, *, oneway: bool = False) -> Path:
    """A --100 m-- B, then B --100 m-- C at a right angle (metres, UTM 51N)."""
    g = nx.MultiDiGraph(crs=UTM51)
    for name, (dx, dy) in {"A": (0, 0), "B": (100, 0), "C": (100, 100)}.items():
        g.add_node(name, x=X0 + dx, y=Y0 + dy)
    g.add_edge("A", "B", length=100.0)
    g.add_edge("B", "C", length=100.0)
    if not oneway:
        g.add_edge("B", "A", length=100.0)
        g.add_edge("C", "B", length=100.0)
    path = tmp_path / "l.graphml"
    nx.write_graphml(g, path)
    return path


def xy(net, dx: float, dy: float) -> np.ndarray:  # noqa: ANN001
    """A point given in UTM 51N offsets, in the network's metric CRS."""
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(UTM51, 4326, always_xy=True).transform(X0 + dx, Y0 + dy)
    return project(np.array([lon]), np.array([lat]), crs=net.crs)


def test_l_shaped_street_by_hand(tmp_path: Path) -> None:
    net = load_graphml(l_street(tmp_path))
    assert net.graph.shape == (3, 3)
    station = xy(net, 0, 0)  # at A
    demand = np.vstack(
        [
            xy(net, 100, 100),  # at C: 200 m by road, 141 m straight
            xy(net, 100, 110),
        ]
    )  # 10 m off C: 210 m
    dist, idx = network_nearest(net, demand, station, cutoff_m=250)
    assert dist == pytest.approx([200.0, 210.0], abs=0.01)
    assert idx.tolist() == [0, 0]
    dist, idx = network_nearest(net, demand, station, cutoff_m=205)
    assert np.isfinite(dist[0]) and np.isinf(dist[1]) and idx[1] == -1
    straight, _ = nearest_station(demand, station)
    assert straight[0] == pytest.approx(141.42, abs=0.01)
    cover = network_cover_matrix(net, demand, station, radius_m=205).toarray().ravel()
    assert cover.tolist() == [True, False]
    assert len(service_area_lines(net, station, radius_m=150)) == 1  # A-B only


def test_one_way_streets_only_when_asked(tmp_path: Path) -> None:
    path = l_street(tmp_path, oneway=True)  # A -> B -> C only
    both = load_graphml(path)
    at_a, at_c = xy(both, 0, 0), xy(both, 100, 100)
    # Riders may go C -> B -> A against the one-way: a station at A reaches C.
    assert network_nearest(both, at_c, at_a, cutoff_m=250)[0][0] == pytest.approx(200, abs=0.01)
    directed = load_graphml(path, directed=True)
    # A driver at A reaches a station at C along the one-way; one at C cannot reach A.
    assert network_nearest(directed, at_a, at_c, cutoff_m=250)[0][0] == pytest.approx(200, abs=0.01)
    assert np.isinf(network_nearest(directed, at_c, at_a, cutoff_m=250)[0][0])
    # Coverage and siting measure the same way (the worker's trip to the station).
    for demand, station in ((at_a, at_c), (at_c, at_a)):
        reached = np.isfinite(network_nearest(directed, demand, station, cutoff_m=250)[0])
        cover = network_cover_matrix(directed, demand, station, radius_m=250).toarray()
        assert cover.ravel().tolist() == reached.tolist()


def test_not_a_network(tmp_path: Path) -> None:
    path = tmp_path / "bad.graphml"
    path.write_text("<graphml><graph><node id='a'/></graph>")
    with pytest.raises(LedgerError):
        load_graphml(path)
    with pytest.raises(LedgerError, match="no such"):
        load_graphml(tmp_path / "missing.graphml")


def test_futian_network_is_never_shorter_than_a_straight_line(shared_data: Path) -> None:
    from geo.planning.network import check_network_area

    net = load_graphml(shared_data / "shenzhen-futian" / "drive.graphml")
    assert net.graph.shape == (1751, 1751)
    rng = np.random.default_rng(0)
    lon = rng.uniform(net.lon.min(), net.lon.max(), 500)
    lat = rng.uniform(net.lat.min(), net.lat.max(), 500)
    points = project(lon, lat, crs=net.crs)
    stations = points[:6]
    road, owner = network_nearest(net, points, stations, cutoff_m=800)
    straight, _ = nearest_station(points, stations)
    reached = np.isfinite(road)
    assert reached.sum() > 6
    assert np.all(road[reached] >= straight[reached] - 1e-6)
    # The per-candidate matrix agrees with the multi-source search.
    cover = network_cover_matrix(net, points, stations, radius_m=800)
    assert np.array_equal(cover.toarray().any(axis=1), reached)
    assert set(owner[reached]) <= set(range(6))
    with pytest.raises(InvalidInput, match="another city"):
        check_network_area(net, np.array([121.47]), np.array([31.23]))
