"""Real parts for fault tests: a Celery worker in its own process, and a TCP proxy that cuts
one process off from PostgreSQL (an outage of the database as that process sees it)."""

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.db import connection

from governance.celery import app


def database_url(port: int | None = None) -> str:
    """The test database's URL, through `port` when given (a proxy's)."""
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{db['USER']}@{host}:{port or db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`celery worker` (solo pool: the task runs in the process that a SIGKILL kills), its
    output collected line by line."""

    def __init__(self, *, env: dict | None = None, beat_schedule: str | None = None):
        command = [
            sys.executable, "-m", "celery", "-A", "governance", "worker",
            "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        if beat_schedule:
            command += ["--beat", "--schedule", beat_schedule]
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            command,
            env={**os.environ, "DATABASE_URL": database_url(), "DEBUG": "true", **(env or {})},
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, seconds: float = 60) -> "Worker":
        deadline = time.monotonic() + seconds
        while "ready." not in self.log:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the worker did not start:\n{self.log}")
            time.sleep(0.2)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, the running task left half done."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def purge_broker() -> None:
    app.control.purge()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` drops every connection and refuses new
    ones until `restore()` — to the process behind it, the target has gone away."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.up = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket):
        peer = {a: b, b: a}
        selector = selectors.DefaultSelector()
        for s in (a, b):
            selector.register(s, selectors.EVENT_READ)
        try:
            while self.up:
                for key, _events in selector.select(timeout=0.2):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    peer[key.fileobj].sendall(data)
        except OSError:
            pass
        finally:
            selector.close()
            self._close(a, b)

    def _close(self, *sockets):
        with self.lock:
            for s in sockets:
                self.sockets.discard(s)
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def cut(self) -> None:
        self.up = False
        with self.lock:
            open_sockets = list(self.sockets)
        self._close(*open_sockets)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()
