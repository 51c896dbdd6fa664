"""What the KFP and Vertex AI stand-ins share: a loopback HTTP server in a thread, a quiet JSON
request handler, the run states they play, the knobs the tests turn, and one-shot fault injection.

Test hooks: ``final_state``/``final_error`` (how a run ends), ``polls_to_finish``, ``hold_running``
(never finish), ``fail_next``: ``(method, path regex, status)`` faults served once each
(``faults_served`` lists them), ``calls``: every ``(method, path)`` received.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


def now() -> str:
    """An RFC 3339 UTC timestamp, as both APIs write them."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JsonHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers JSON."""

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@dataclass(frozen=True)
class RunStates:
    """A backend's names for the run states the stand-ins play."""

    pending: str
    running: str
    failed: str
    cancelling: str
    cancelled: str


class StandInServer(http.server.ThreadingHTTPServer):
    """Binds 127.0.0.1 on a free port; ``start``/``stop`` run it in a daemon thread."""

    final_state = ""
    states: RunStates

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

    def tracked_runs(self) -> dict[str, dict[str, Any]]:
        """Run id -> run record (the KFP runs, the Vertex AI jobs)."""
        raise NotImplementedError

    def wait_until_running(self, timeout_s: float = 30.0) -> bool:
        """True once a run is in the running state (False after ``timeout_s``)."""
        return self.wait_for(lambda s: any(r["state"] == s.states.running for r in s.tracked_runs().values()), timeout_s)

    def advance(self, run_id: str, state: str, failure: str | None = None) -> tuple[str, str | None, bool]:
        """One GET of run ``run_id``, now in ``state``: its next state, error message and whether it ended now.

        A run is pending at the first poll and running from the second; then it fails with
        ``failure`` if given, or ends ``final_state`` (with ``final_error``) from the
        ``polls_to_finish``-th poll unless ``hold_running``. A cancelling run is cancelled.
        Call with ``self.lock`` held.
        """
        s = self.states
        n = self.polls[run_id] = self.polls.get(run_id, 0) + 1
        if state == s.cancelling:
            return s.cancelled, None, False
        if state not in (s.pending, s.running):
            return state, None, False
        if n >= 2 and failure:
            return s.failed, failure, True
        if n >= self.polls_to_finish and not self.hold_running:
            return self.final_state, self.final_error, True
        return (s.running if n >= 2 else state), None, False

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
