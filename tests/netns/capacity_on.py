"""tests/servers/capacity.py on a given address (it binds 127.0.0.1): for a namespace host.

``python -m tests.netns.capacity_on HOST PORT MODE SLOTS SERVICE_MS``: the same service and
handler; only the bind address differs (a threading server with daemon threads and a listen
backlog of 128, as the ground-truth servers use).
"""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer

from tests.servers import capacity


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # users that connect at once are not retried a second later


def main() -> None:
    host, port, mode, slots, service_ms = sys.argv[1:6]
    capacity.SERVICE = capacity.Capacity(mode, int(slots), float(service_ms))
    sys.setswitchinterval(0.0002)  # a thread whose sleep ended gets the GIL sooner
    server = _Server((host, int(port)), capacity.Handler)
    rps = capacity.SERVICE.capacity_rps
    print(f"capacity {mode} listening on {host}:{port}: {rps:g} rps", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
