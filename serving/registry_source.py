"""``mlops serve --model models:/<name>@<alias>``: serve the version a registry alias names.

The registry mirrors the push destination (``pipelines/tracking``): each registered version
carries ``mlops.push_destination`` and ``mlops.push_version``, so the model is loaded from the
push destination, as with ``--models``/``--model``. The alias is read again on every poll: when
it moves (a new push, or a person rolling back in the MLflow UI) the server swaps to that version.
A registry that cannot be reached keeps the version it named last (and says so in the log).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from serving.model import PushDestinationSource

log = logging.getLogger("serving")
_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[A-Za-z0-9_-]+)$")


def parse_models_uri(text: str) -> tuple[str, str] | None:
    """``("penguins", "production")`` for ``models:/penguins@production``; None for a plain name.

    Raises:
        ValueError: ``text`` starts with ``models:/`` but is not ``models:/<name>@<alias>``.
    """
    if not text.startswith("models:"):
        return None
    m = _MODELS_URI.match(text)
    if not m:
        raise ValueError(f"--model {text!r}: a registry model is named models:/<name>@<alias>, e.g. models:/penguins@production")
    return m.group("name"), m.group("alias")


class RegistryAliasSource(PushDestinationSource):
    """The pushed version a registry alias names, loaded from the push destination it mirrors."""

    def __init__(self, name: str, alias: str, tracking_uri: str, timeout_s: float = 10.0):
        from pipelines.tracking.client import connect

        self.alias = alias
        self.tracking_uri = tracking_uri
        try:
            self.client = connect(tracking_uri, timeout_s)
            destination, version = self._resolve(name)
        except ValueError:
            raise
        except Exception as exc:  # noqa: BLE001 - the server is down, the model or alias unknown
            raise ValueError(f"models:/{name}@{alias}: cannot read the registry at {tracking_uri}: {_first_line(exc)}") from exc
        super().__init__(destination, name)
        self._version = version

    def _resolve(self, name: str) -> tuple[str, int]:
        from pipelines.tracking.client import PUSH_DESTINATION_TAG, PUSH_VERSION_TAG

        mv = self.client.get_model_version_by_alias(name, self.alias)
        tags = mv.tags or {}
        if PUSH_DESTINATION_TAG not in tags or not str(tags.get(PUSH_VERSION_TAG, "")).isdigit():
            raise ValueError(f"models:/{name}@{self.alias} is version {mv.version}, which was not registered by a push "
                             f"(it lacks the tags {PUSH_DESTINATION_TAG} and {PUSH_VERSION_TAG}); serve with --models/--model")
        return tags[PUSH_DESTINATION_TAG], int(tags[PUSH_VERSION_TAG])

    def describe(self) -> str:
        return f"models:/{self.name}@{self.alias} (push {self._version} under {super().describe()})"

    def current_version(self) -> int:
        """The push version the alias names now (the last one known if the registry is down)."""
        try:
            destination, version = self._resolve(self.name)
            if destination == self.destination:
                self._version = version
            else:
                log.warning("models:/%s@%s now names a version in %s, not %s; keeping push %d",
                            self.name, self.alias, destination, self.destination, self._version)
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot read models:/%s@%s (%s); keeping push %d", self.name, self.alias, _first_line(exc), self._version)
        return self._version

    def complete_versions(self) -> list[int]:
        version = self.current_version()
        return [version] if version in super().complete_versions() else []

    def latest(self) -> tuple[int, dict[str, Any]] | None:
        versions = self.complete_versions()
        return (versions[0], self.manifest(versions[0])) if versions else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
