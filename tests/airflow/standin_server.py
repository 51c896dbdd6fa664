"""What the KFP and Vertex AI stand-ins share: a loopback HTTP server in a thread, the run-state
knobs the tests turn, and one-shot fault injection.

Test hooks: ``final_state``/``final_error`` (how a run ends), ``polls_to_finish``, ``hold_running``
(never finish), ``fail_next``: ``(method, path regex, status)`` faults served once each
(``faults_served`` lists them), ``calls``: every ``(method, path)`` received.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from typing import Any


class StandInServer(http.server.ThreadingHTTPServer):
    """Binds 127.0.0.1 on a free port; ``start``/``stop`` run it in a daemon thread."""

    final_state = ""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]):
        super().__init__(("127.0.0.1", 0), handler)
        self.polls: dict[str, int] = {}
        self.final_error: str | None = None
        self.polls_to_finish = 3
        self.hold_running = False
        self.fail_next: list[tuple[str, str, int]] = []
        self.faults_served: list[tuple[str, str, int]] = []
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def wait_for(self, predicate: Any, timeout_s: float = 30.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            with self.lock:
                if predicate(self):
                    return True
            time.sleep(0.05)
        return False

    def take_fault(self, method: str, path: str) -> int | None:
        """Records the call; returns the status of an injected fault matching it (served once), or None.

        Call with ``self.lock`` held.
        """
        self.calls.append((method, path))
        for i, (m, pattern, status) in enumerate(self.fail_next):
            if m == method and re.search(pattern, path):
                del self.fail_next[i]
                self.faults_served.append((method, path, status))
                return status
        return None
