"""A TCP proxy in front of the test database that a test can cut and mend.

It forwards 127.0.0.1:<port> to the real server (TCP or Unix socket). `cut()` closes every
open connection and refuses new ones, as a database restart or a network failure would;
`mend()` accepts again.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading

from psycopg.conninfo import conninfo_to_dict, make_conninfo


class DbProxy:
    def __init__(self, database_url: str):
        params = conninfo_to_dict(database_url)
        host = params.get("host") or "/var/run/postgresql"
        port = int(params.get("port") or 5432)
        if host.startswith("/"):
            self._target = (socket.AF_UNIX, os.path.join(host, f".s.PGSQL.{port}"))
        else:
            self._target = (socket.AF_INET, (host, port))
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        params.update(host="127.0.0.1", port=str(self.port))
        self.url = make_conninfo(**params)
        self._open = threading.Event()
        self._open.set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            family, address = self._target
            server = socket.socket(family, socket.SOCK_STREAM)
            try:
                server.connect(address)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket):
        peers = {a: b, b: a}
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 0.5)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # ValueError: a socket cut() closed meanwhile
            return
        finally:
            for sock in (a, b):
                self._close(sock)

    def _close(self, sock):
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self):
        self._open.clear()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._close(sock)

    def mend(self):
        self._open.set()

    def close(self):
        self._closed = True
        self.cut()
        self._listener.close()
