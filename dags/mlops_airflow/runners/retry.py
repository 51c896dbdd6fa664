"""Retry with backoff of transient API errors (HTTP 5xx/429, connection errors) for the remote runners.

The policy's settings travel in the client request's ``retry`` section; a deployment gives them
as ``retry_*_seconds`` (KFP connection extras, the config's ``vertex:`` section).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from mlops_airflow.runners.outcome import RunnerError

log = logging.getLogger(__name__)

#: RetryPolicy field -> the setting's name in a connection's extras or the config's vertex: section.
RETRY_SETTINGS = (("initial_s", "retry_initial_seconds"), ("max_s", "retry_max_seconds"), ("budget_s", "retry_budget_seconds"))


@dataclass
class RetryPolicy:
    """Backoff for transient API errors (HTTP 5xx/429, connection errors).

    Attributes:
        initial_s: First wait; doubled after each failure, up to ``max_s`` (with up to 10 % jitter).
        max_s: Longest wait between two tries.
        budget_s: Give up when the same call has failed for this long.
    """

    initial_s: float = 5.0
    max_s: float = 60.0
    budget_s: float = 900.0

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None) -> "RetryPolicy":
        d = d or {}
        return cls(
            initial_s=float(d.get("initial_s", cls.initial_s)),
            max_s=float(d.get("max_s", cls.max_s)),
            budget_s=float(d.get("budget_s", cls.budget_s)),
        )


def retry_settings(setting: Callable[[str], Any]) -> dict[str, float]:
    """The request's ``retry`` section: the ``retry_*_seconds`` settings given (the rest: the defaults).

    Args:
        setting: Looks a setting up by its name (``retry_initial_seconds``...); None when not given.
    """
    return {key: float(setting(name)) for key, name in RETRY_SETTINGS if setting(name) is not None}


def call_with_retry(
    fn: Callable[[], Any],
    *,
    what: str,
    transient: Callable[[BaseException], str | None],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Calls ``fn`` until it returns, retrying while ``transient(exc)`` names the error.

    ``transient`` returns a short description for a retryable error and None for any other,
    which is raised at once. After ``policy.budget_s`` of failures a :class:`RunnerError` says
    what kept failing.
    """
    start = time.monotonic()
    delay = policy.initial_s
    tries = 0
    while True:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified below
            why = transient(exc)
            if why is None:
                raise
            tries += 1
            waited = time.monotonic() - start
            if waited + delay > policy.budget_s:
                raise RunnerError(f"{what}: still failing after {tries} tries in {waited:.0f} s: {why}") from exc
            pause = delay * (1 + random.random() * 0.1)
            log.warning("%s: transient error (%s); try %d failed, retrying in %.1f s", what, why, tries, pause)
            sleep(pause)
            delay = min(delay * 2, policy.max_s)
