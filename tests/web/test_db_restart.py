"""The database goes away and comes back: 503 JSON with Retry-After, never a traceback, then 200.

"Down" is a small TCP proxy between the app and the shared PostgreSQL server:
stopping it drops every connection and refuses new ones, exactly what a
server restart looks like to a client, without touching the cluster other
test runs use.  "Paused" accepts connections and forwards nothing, on new
and open connections alike, while keeping every socket open: a server stuck
under load, whose kernel still acknowledges each packet.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from web import create_app


class TcpProxy:
    """Forward 127.0.0.1:<port> to a PostgreSQL server; stop, pause and start on demand."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._flowing = threading.Event()
        self._flowing.set()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    @property
    def paused(self) -> bool:
        """Whether the proxy holds every byte instead of forwarding it."""
        return not self._flowing.is_set()

    @paused.setter
    def paused(self, value: bool) -> None:
        if value:
            self._flowing.clear()
        else:
            self._flowing.set()

    def start(self) -> None:
        """Listen (on the same port as before, if any) and forward new connections."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # listener closed: stop() was called
            with self._lock:
                self._sockets.append(client)
            if self.paused:
                continue  # hold the connection open and never answer
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.append(server)
            for src, dst in ((client, server), (server, client)):
                pump = threading.Thread(target=self._pump, args=(src, dst), daemon=True)
                pump.start()
                self._threads.append(pump)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                while not self._flowing.wait(0.1):  # paused: hold the bytes
                    if dst.fileno() < 0:
                        return  # stop() closed the connection meanwhile
                dst.sendall(chunk)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Refuse new connections and cut every open one (the server 'restarts')."""
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone does
            # not on Linux, and the kernel would keep accepting connections.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = [t for t in self._threads if t.is_alive()]


@contextlib.contextmanager
def running_proxy(database_url: str) -> Iterator[TcpProxy]:
    """A started proxy to the server of ``database_url``, stopped afterwards."""
    target = make_url(database_url)
    tcp = TcpProxy((target.host or "127.0.0.1", target.port or 5432))
    tcp.start()
    try:
        yield tcp
    finally:
        tcp.paused = False
        tcp.stop()


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    with running_proxy(database_url) as tcp:
        yield tcp


def proxied_app(
    app_config: dict[str, object], database_url: str, proxy: TcpProxy, **settings: object
) -> Flask:
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    config = {
        **app_config,
        "SESSION_FACTORY": None,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        **settings,
    }
    app = create_app(config)
    return app


def dispose(app: Flask) -> None:
    engine = app.extensions["yitu.db"].engine
    if engine is not None:
        engine.dispose()


def assert_unavailable(response, *, json: bool) -> None:  # noqa: ANN001
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:300]
    assert int(response.headers["Retry-After"]) > 0
    assert "Traceback" not in body and "psycopg" not in body and "OperationalError" not in body
    if json:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == 503


def test_restart_gives_503_then_the_first_request_after_succeeds(
    app_config: dict[str, object], database_url: str, proxy: TcpProxy
) -> None:
    app = proxied_app(app_config, database_url, proxy)
    client = app.test_client()
    try:
        assert client.get("/api/v1/places").status_code == 200  # a pooled connection exists
        proxy.stop()
        assert_unavailable(client.get("/api/v1/places"), json=True)
        assert_unavailable(client.get("/places"), json=False)
        proxy.start()
        # pool_pre_ping replaces the dead pooled connection: no error reaches the user.
        assert client.get("/api/v1/places").status_code == 200
        assert client.get("/places").status_code == 200
    finally:
        dispose(app)


def test_a_stuck_database_answers_503_within_the_connect_timeout(
    app_config: dict[str, object], database_url: str, proxy: TcpProxy
) -> None:
    app = proxied_app(app_config, database_url, proxy)
    client = app.test_client()
    try:
        proxy.paused = True
        assert_unavailable(client.get("/api/v1/places"), json=True)
        proxy.paused = False
        assert client.get("/api/v1/places").status_code == 200
    finally:
        dispose(app)


def test_an_exhausted_pool_answers_503(
    app_config: dict[str, object], database_url: str, proxy: TcpProxy
) -> None:
    app = proxied_app(
        app_config, database_url, proxy, DATABASE_POOL_SIZE=1, DATABASE_POOL_TIMEOUT_S=0.5
    )
    engine = app.extensions["yitu.db"].engine
    held = [engine.connect() for _ in range(2)]  # pool_size 1 + max_overflow 1
    try:
        assert_unavailable(app.test_client().get("/api/v1/places"), json=True)
    finally:
        for conn in held:
            conn.close()
    try:
        assert app.test_client().get("/api/v1/places").status_code == 200
    finally:
        dispose(app)


def test_login_during_an_outage_is_503_not_500(
    app_config: dict[str, object], database_url: str, proxy: TcpProxy
) -> None:
    from tests.household_fixtures import csrf_from

    app = proxied_app(app_config, database_url, proxy)
    client = app.test_client()
    try:
        token = csrf_from(client.get("/auth/login").get_data(as_text=True))
        proxy.stop()
        response = client.post(
            "/auth/login",
            data={"username": "someone", "password": "long enough password", "csrf_token": token},
        )
        assert_unavailable(response, json=False)
        proxy.start()
    finally:
        dispose(app)


def test_requests_during_a_restart_get_200_or_503_and_nothing_else(
    app_config: dict[str, object], database_url: str, proxy: TcpProxy
) -> None:
    app = proxied_app(app_config, database_url, proxy)

    def fetch(i: int) -> int:
        response = app.test_client().get("/api/v1/places" if i % 2 else "/places")
        assert "Traceback" not in response.get_data(as_text=True)
        return response.status_code

    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            before = list(pool.map(fetch, range(12)))
            proxy.stop()
            during = list(pool.map(fetch, range(12)))
            proxy.start()
            after = list(pool.map(fetch, range(24)))
        assert set(before) == {200}
        assert set(during) == {503}
        assert set(after) == {200}
    finally:
        dispose(app)
