"""Liveness and readiness of a worker, served beside ``/metrics`` on ``CHURN_METRICS_PORT``.

* ``GET /livez``: 200 while the event loop's heartbeat (a task, every second) is
  fresher than ``CHURN_LIVENESS_TIMEOUT_SECONDS``; 503 when the loop is stuck. The HTTP
  server runs in its own thread, so it answers either way (that is the point).
* ``GET /readyz``: 200 once the worker has joined its group, received its assignment and
  recovered its tables, and while no rebalance or recovery is under way; else 503.
* anything else: the Prometheus exposition of the injected registry.

Both answer a short JSON body: ``{"status": "ok"}`` or ``{"status": "...", "reason": "..."}``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

#: (ready, reason) of a worker; the reason says what it still waits for.
Readiness = Callable[[], tuple[bool, str]]

HEARTBEAT_SECONDS = 1.0


class Health:
    """Heartbeat of the event loop (``beat``) and a readiness check (``ready_check``).

    ``beat`` runs on the event loop and evaluates ``ready_check`` there: the HTTP thread only
    reads the results (Faust and aiokafka objects must not be touched from another thread;
    doing so from the probe thread once stalled a worker's start-up).
    """

    def __init__(self, stale_after_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stale_after = stale_after_seconds
        self.clock = clock
        self.started = clock()
        self.last_beat: float | None = None
        self.ready_check: Readiness = lambda: (False, "worker not started")
        self._ready: tuple[bool, str] = (False, "worker not started")

    def beat(self) -> None:
        """Call on the event loop: records the heartbeat and the readiness."""
        self.last_beat = self.clock()
        try:
            self._ready = self.ready_check()
        except Exception as exc:  # a check that fails means "not ready", never a 500
            self._ready = (False, f"readiness check failed: {type(exc).__name__}")

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        """Alive while the last heartbeat (or, before the first, the start) is fresh."""
        age = self.clock() - (self.last_beat if self.last_beat is not None else self.started)
        alive = age <= self.stale_after
        body: dict[str, Any] = {"status": "ok" if alive else "stale",
                                "heartbeat_age_seconds": round(age, 1)}
        if not alive:
            body["reason"] = f"event loop heartbeat older than {self.stale_after:g} s"
        return alive, body

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """The readiness of the last heartbeat; not ready while the heartbeat is stale."""
        ready, reason = self._ready
        if ready and not self.liveness()[0]:
            ready, reason = False, "event loop heartbeat is stale"
        body: dict[str, Any] = {"status": "ok" if ready else "not_ready"}
        if not ready:
            body["reason"] = reason
        return ready, body


def faust_readiness(app: Any) -> tuple[bool, str]:
    """Ready once Faust recovered the tables for an assignment, and not rebalancing now."""
    recovery = app.tables.recovery
    if not recovery.completed.is_set():
        return False, "waiting for the partition assignment and table recovery"
    if getattr(app, "rebalancing", False):
        return False, "rebalancing"
    if getattr(recovery, "in_recovery", False):
        return False, "recovering tables"
    return True, ""


async def heartbeat(health: Health, stop: Any = None) -> None:
    """Beat every ``HEARTBEAT_SECONDS`` until ``stop`` (an asyncio.Event) is set."""
    while stop is None or not stop.is_set():
        health.beat()
        await asyncio.sleep(HEARTBEAT_SECONDS)


def attach(app: Any, health: Health, loop: asyncio.AbstractEventLoop) -> asyncio.Task[None]:
    """Give ``health`` the Faust ``app``'s readiness check and a heartbeat task on ``loop``
    (the worker's loop, before it starts: Faust's own timers start only after the first
    table recovery, too late for a liveness heartbeat)."""
    health.ready_check = lambda: faust_readiness(app)
    return loop.create_task(heartbeat(health))


def wsgi_app(registry: CollectorRegistry, health: Health) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in ("/livez", "/readyz"):
            ok, body = health.liveness() if path == "/livez" else health.readiness()
            data = json.dumps(body).encode("utf-8")
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data))),
                            ("Cache-Control", "no-store")])
            return [data]
        return metrics(environ, start_response)  # type: ignore[no-any-return]

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Probes every few seconds must not fill the log."""


def serve(port: int, registry: CollectorRegistry, health: Health,
          addr: str = "0.0.0.0") -> WSGIServer:
    """Serve ``/metrics``, ``/livez`` and ``/readyz`` from a daemon thread; returns the server
    (``server.server_port`` is the port, also when ``port`` was 0)."""
    server = make_server(addr, port, wsgi_app(registry, health), _ThreadingServer,
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
    return server
