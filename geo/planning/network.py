"""Road-network service areas: distances along streets instead of straight lines.

A GraphML road network (as saved by OSMnx: node ``x``/``y`` attributes,
edge ``length`` in metres, graph ``crs``) is read with
:func:`networkx.read_graphml` and turned into a sparse adjacency matrix, so
shortest paths run in SciPy's compiled Dijkstra rather than in Python.

Network distance between a point and a station is::

    snap(point -> its nearest node) + path(node -> node) + snap(node -> station)

where the snaps are straight lines in metres.  All stations are searched at
once by a multi-source Dijkstra: a virtual source joins every station's node
with an edge as long as that station's snap, so the distance found at each
node is already the distance to the nearest station, snap included.  Points
whose snap alone exceeds the service distance are never covered.

Riders and workers walk or ride both ways along one-way streets, so the graph
is undirected by default (``directed=True`` keeps OSM one-way rules, for
drivers).  Parallel edges keep their shortest length.  GraphML is XML: only
load network files the operator chose, never uploads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo.errors import InvalidInput, LedgerError
from geo.planning.metric import check_radius, metric_crs_for, project


@dataclass(frozen=True)
class RoadNetwork:
    """A road graph ready for shortest-path queries in metres.

    Attributes
    ----------
    graph : scipy.sparse.csr_matrix
        ``graph[i, j]`` is the length in metres of the shortest edge from
        node ``i`` to node ``j`` (absent = no edge).
    node_ids : numpy.ndarray of str
        Original GraphML node ids.
    lon, lat : numpy.ndarray
        Node positions, WGS-84 degrees.
    xy : numpy.ndarray, shape (n, 2)
        Node positions in ``crs`` metres.
    crs : pyproj.CRS
        Local metric CRS (UTM zone) all distances are measured in.
    edges : numpy.ndarray, shape (e, 2)
        Node index pairs of the edges (for drawing service areas).
    edge_geometry : list of (list of (lon, lat)) or None
        Edge shapes in WGS-84 when the file has them (OSMnx ``geometry``).
    directed : bool
    """

    graph: sparse.csr_matrix
    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    xy: np.ndarray
    crs: pyproj.CRS
    edges: np.ndarray
    edge_geometry: list[list[tuple[float, float]] | None]
    directed: bool = False

    @property
    def tree(self) -> cKDTree:
        """Return a k-d tree over the nodes (metres), for snapping."""
        return cKDTree(self.xy)

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (nearest node index, snap distance in metres) for points in ``crs``."""
        dist, node = self.tree.query(np.asarray(xy, dtype=float).reshape(-1, 2), k=1)
        return node.astype(np.int64), dist


def _float(value: Any, what: str, path: Path) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise LedgerError(f"{path.name}: {what} {value!r} is not a number") from None


def load_graphml(
    path: str | Path, *, directed: bool = False, crs: pyproj.CRS | None = None
) -> RoadNetwork:
    """Read a GraphML road network into a :class:`RoadNetwork`.

    Parameters
    ----------
    path : str or Path
        GraphML file with node ``x``, ``y`` and, ideally, edge ``length``
        (metres).  Node coordinates are in the graph's ``crs`` attribute
        (OSMnx writes ``epsg:4326``), WGS-84 when absent.
    directed : bool
        Keep edge directions (one-way streets); False treats every street as
        two-way, as walkers and riders use them.
    crs : pyproj.CRS, optional
        Metric CRS to measure in; the UTM zone of the network by default.

    Raises
    ------
    LedgerError
        Missing or unreadable file, nodes without coordinates, no edges.
    """
    import networkx as nx
    from shapely import wkt
    from shapely.errors import ShapelyError

    path = Path(path)
    if not path.is_file():
        raise LedgerError(f"{path}: no such network file")
    try:
        g = nx.read_graphml(path)
    except (nx.NetworkXError, ValueError, SyntaxError) as exc:  # ParseError is a SyntaxError
        raise LedgerError(
            f"{path.name}: not a readable GraphML file ({type(exc).__name__})"
        ) from None
    if g.number_of_nodes() == 0 or g.number_of_edges() == 0:
        raise LedgerError(f"{path.name}: the network has no nodes or no edges")
    ids = list(g.nodes)
    position = {n: i for i, n in enumerate(ids)}
    try:
        x = np.array([_float(g.nodes[n]["x"], "node x", path) for n in ids])
        y = np.array([_float(g.nodes[n]["y"], "node y", path) for n in ids])
    except KeyError:
        raise LedgerError(f"{path.name}: nodes need x and y attributes (as OSMnx writes)") from None
    source_crs = pyproj.CRS.from_user_input(g.graph.get("crs") or "EPSG:4326")
    if source_crs.is_geographic:
        lon, lat = x, y
    else:
        to_wgs = pyproj.Transformer.from_crs(source_crs, 4326, always_xy=True)
        lon, lat = (np.asarray(a) for a in to_wgs.transform(x, y))
    metric = crs or metric_crs_for(lon, lat)
    xy = project(lon, lat, crs=metric)
    rows, cols, lengths, shapes = [], [], [], []
    for u, v, data in g.edges(data=True):
        i, j = position[u], position[v]
        length = data.get("length")
        metres = (
            _float(length, "edge length", path)
            if length not in (None, "")
            else float(np.hypot(*(xy[i] - xy[j])))
        )
        rows.append(i)
        cols.append(j)
        lengths.append(max(metres, 1e-9))  # csgraph drops explicit zeros
        shape = None
        if data.get("geometry"):
            try:
                line = wkt.loads(data["geometry"])
                coords = [(float(a), float(b)) for a, b, *_ in line.coords]
                if not source_crs.is_geographic:
                    xs, ys = to_wgs.transform([c[0] for c in coords], [c[1] for c in coords])
                    coords = list(zip(xs, ys, strict=True))
                shape = coords
            except (ShapelyError, ValueError, AttributeError):
                shape = None  # a broken shape only costs the drawing, not the distances
        shapes.append(shape)
    n = len(ids)
    r = np.asarray(rows)
    c = np.asarray(cols)
    w = np.asarray(lengths)
    if not directed:
        r, c, w = np.concatenate([r, c]), np.concatenate([c, r]), np.concatenate([w, w])
    # Keep the shortest of parallel edges: sort by length, first (i, j) wins.
    order = np.lexsort((w, c, r))
    r, c, w = r[order], c[order], w[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    graph = sparse.csr_matrix((w[first], (r[first], c[first])), shape=(n, n))
    return RoadNetwork(
        graph=graph,
        node_ids=np.asarray(ids, dtype=str),
        lon=lon,
        lat=lat,
        xy=xy,
        crs=metric,
        edges=np.column_stack([rows, cols]),
        edge_geometry=shapes,
        directed=directed,
    )


def _with_virtual_source(
    network: RoadNetwork, nodes: np.ndarray, snaps: np.ndarray
) -> sparse.csr_matrix:
    """Return the graph plus one node joined to ``nodes`` by edges of ``snaps`` metres."""
    n = network.graph.shape[0]
    # The search runs outward from the stations, but the way that counts is
    # the worker's, from a point to a station: on a directed (one-way) graph
    # follow the edges backwards, as network_cover_matrix does.
    roads = network.graph.T.tocsr() if network.directed else network.graph
    extra = sparse.csr_matrix(
        (np.maximum(snaps, 1e-9), (np.full(len(nodes), n), nodes)), shape=(n + 1, n + 1)
    )
    base = sparse.csr_matrix(
        (roads.data, roads.indices, np.concatenate([roads.indptr, [roads.nnz]])),
        shape=(n + 1, n + 1),
    )
    return (base + extra).tocsr()


def node_distances(
    network: RoadNetwork, station_xy: np.ndarray, *, cutoff_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return, per node, the network distance to the nearest station and its index.

    Parameters
    ----------
    network : RoadNetwork
    station_xy : numpy.ndarray, shape (m, 2)
        Stations in ``network.crs`` metres.
    cutoff_m : float
        Stop searching beyond this distance (metres).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Distance in metres (inf beyond ``cutoff_m``) and station index (-1).
    """
    n = network.graph.shape[0]
    if not len(station_xy):
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    nodes, snaps = network.snap(station_xy)
    # Ties on one node: the nearer station wins (lexsort by node then snap).
    order = np.lexsort((snaps, nodes))
    nodes, snaps, which = nodes[order], snaps[order], order
    first = np.ones(len(nodes), dtype=bool)
    first[1:] = nodes[1:] != nodes[:-1]
    nodes, snaps, which = nodes[first], snaps[first], which[first]
    graph = _with_virtual_source(network, nodes, snaps)
    dist, pred = dijkstra(graph, directed=True, indices=n, limit=cutoff_m, return_predecessors=True)
    dist = dist[:n]
    # Walk predecessors back to the virtual source to learn which station.
    station_of_node = np.full(n + 1, -1, dtype=np.int64)
    station_of_node[nodes] = which
    owner = np.full(n, -1, dtype=np.int64)
    reached = np.flatnonzero(np.isfinite(dist))
    first_hop = pred[:n].copy()
    for node in reached[np.argsort(dist[reached])]:
        parent = first_hop[node]
        owner[node] = station_of_node[node] if parent == n else owner[parent]
    return dist, owner


def network_nearest(
    network: RoadNetwork, demand_xy: np.ndarray, station_xy: np.ndarray, *, cutoff_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return each demand point's network distance to, and index of, the nearest station.

    Parameters
    ----------
    network : RoadNetwork
    demand_xy, station_xy : numpy.ndarray
        Points in ``network.crs`` metres.
    cutoff_m : float
        Service distance in metres; beyond it distance is inf, index -1.
    """
    cutoff_m = check_radius(cutoff_m)
    node_dist, owner = node_distances(
        network, np.asarray(station_xy, float).reshape(-1, 2), cutoff_m=cutoff_m
    )
    nodes, snaps = network.snap(demand_xy)
    total = node_dist[nodes] + snaps
    # Nodes reached through a path are only good if the whole way fits.
    within = total <= cutoff_m
    return np.where(within, total, np.inf), np.where(within, owner[nodes], -1)


def network_cover_matrix(
    network: RoadNetwork, demand_xy: np.ndarray, candidate_xy: np.ndarray, *, radius_m: float
) -> sparse.csr_matrix:
    """Return the demand x candidate matrix of network reach within ``radius_m``.

    One bounded Dijkstra per distinct candidate node (SciPy runs them in C).
    """
    radius_m = check_radius(radius_m)
    demand_xy = np.asarray(demand_xy, float).reshape(-1, 2)
    candidate_xy = np.asarray(candidate_xy, float).reshape(-1, 2)
    if not len(demand_xy) or not len(candidate_xy):
        return sparse.csr_matrix((len(demand_xy), len(candidate_xy)), dtype=bool)
    d_nodes, d_snap = network.snap(demand_xy)
    c_nodes, c_snap = network.snap(candidate_xy)
    unique_nodes, inverse = np.unique(c_nodes, return_inverse=True)
    graph = network.graph if network.directed else network.graph
    # Distances from each candidate node, cut at the radius.  The trip that
    # counts runs from the rider to the candidate, so on a directed graph the
    # search from the candidate follows the edges backwards (the transpose).
    source_graph = graph.T.tocsr() if network.directed else graph
    dist = dijkstra(source_graph, directed=network.directed, indices=unique_nodes, limit=radius_m)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for j in range(len(candidate_xy)):
        along = dist[inverse[j]][d_nodes] + d_snap + c_snap[j]
        hit = np.flatnonzero(along <= radius_m)
        rows.append(hit)
        cols.append(np.full(len(hit), j))
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    return sparse.csr_matrix(
        (np.ones(len(r), dtype=bool), (r, c)), shape=(len(demand_xy), len(candidate_xy))
    )


def service_area_lines(
    network: RoadNetwork, station_xy: np.ndarray, *, radius_m: float
) -> list[list[tuple[float, float]]]:
    """Return WGS-84 polylines of the streets within ``radius_m`` of a station.

    An edge is drawn when both its ends are within reach; its OSM shape is
    used when the file has one.  For display only: coverage uses
    :func:`network_nearest`.
    """
    radius_m = check_radius(radius_m)
    dist, _ = node_distances(
        network, np.asarray(station_xy, float).reshape(-1, 2), cutoff_m=radius_m
    )
    lines: list[list[tuple[float, float]]] = []
    drawn: set[tuple[int, int]] = set()
    for (i, j), shape in zip(network.edges, network.edge_geometry, strict=True):
        pair = (int(min(i, j)), int(max(i, j)))
        if pair in drawn:
            continue  # a two-way street is two edges in the file but one line on a map
        if dist[i] <= radius_m and dist[j] <= radius_m:
            drawn.add(pair)
            lines.append(
                shape
                or [
                    (float(network.lon[i]), float(network.lat[i])),
                    (float(network.lon[j]), float(network.lat[j])),
                ]
            )
    return lines


def check_network_area(network: RoadNetwork, lon: np.ndarray, lat: np.ndarray) -> None:
    """Raise when no point lies within the network's extent (wrong network file)."""
    west, east = float(network.lon.min()), float(network.lon.max())
    south, north = float(network.lat.min()), float(network.lat.max())
    inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    if len(lon) and not inside.any():
        raise InvalidInput(
            f"no activity lies within the road network's extent ({west:.3f}..{east:.3f} E, "
            f"{south:.3f}..{north:.3f} N); is it the network of another city?",
            field="network",
        )
