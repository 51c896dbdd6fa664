"""What the SQLite MLMD store of a local run says about one pipeline run.

TFX records each component's execution in MLMD: registered ``RUNNING`` when the component
starts, then ``COMPLETE``, ``CACHED`` or ``FAILED``. Executions and contexts are TFX's: the
run's ``pipeline_run`` context is named after the run id (``run_local`` chooses it) and each
execution is attributed to a ``node`` context named ``<pipeline>.<component id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.local.summary import display_path

# TFX's context type names (tfx.dsl.compiler.constants), repeated here to keep tfx unimported.
RUN_CONTEXT_TYPE = "pipeline_run"
NODE_CONTEXT_TYPE = "node"


@dataclass(frozen=True)
class ComponentExecution:
    """One component's execution in a run.

    Attributes:
        node_id: The component id (``Trainer``).
        execution_id: The MLMD execution id.
        state: As ``run.json`` names it: ``executed``, ``cached``, ``failed``, or ``other``
            (still running, or interrupted).
        finished: Whether MLMD holds its final state (``other`` may be final: cancelled).
        seconds: From registration to the last state change, as MLMD recorded them.
    """

    node_id: str
    execution_id: int
    state: str
    finished: bool
    seconds: float


def open_store(metadata_path: str, read_only: bool = False):
    """An ``ml_metadata`` ``MetadataStore`` on the SQLite file.

    Args:
        metadata_path: The SQLite file.
        read_only: Open it read-only (raises while the file or its schema does not exist yet):
            for a reader beside the run that writes it.
    """
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    conn = metadata_store_pb2.ConnectionConfig()
    conn.sqlite.filename_uri = metadata_path
    if read_only:
        conn.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(conn)


def _state(state: int) -> tuple[str, bool]:
    """``run.json``'s name of an MLMD execution state, and whether the state is final."""
    from ml_metadata.proto import metadata_store_pb2

    ex = metadata_store_pb2.Execution
    names = {ex.COMPLETE: "executed", ex.CACHED: "cached", ex.FAILED: "failed"}
    return names.get(state, "other"), state in (ex.COMPLETE, ex.CACHED, ex.FAILED, ex.CANCELED)


class RunReader:
    """Reads one run's executions, remembering which component each execution belongs to.

    Args:
        store: A ``MetadataStore`` (``open_store``).
        run_id: The run's id (the name of its ``pipeline_run`` context).
    """

    def __init__(self, store, run_id: str):
        self.store = store
        self.run_id = run_id
        self._run_context_id: int | None = None
        self._node_of: dict[int, str | None] = {}  # execution id -> component id (None: not a node's)

    def _run_context(self) -> int | None:
        if self._run_context_id is None:
            ctx = self.store.get_context_by_type_and_name(RUN_CONTEXT_TYPE, self.run_id)
            self._run_context_id = ctx.id if ctx is not None else None
        return self._run_context_id

    def executions(self) -> list:
        """The run's MLMD executions, oldest first ([] before the run's first component starts)."""
        ctx = self._run_context()
        if ctx is None:
            return []
        return sorted(self.store.get_executions_by_context(ctx), key=lambda ex: ex.id)

    def node_of(self, execution_id: int) -> str | None:
        """The component id of an execution of this run."""
        if execution_id not in self._node_of:
            node_type = self.store.get_context_type(NODE_CONTEXT_TYPE).id
            nodes = [c.name for c in self.store.get_contexts_by_execution(execution_id) if c.type_id == node_type]
            # Its name is `<pipeline>.<node id>`; pipeline names have no dot (pipelines.config).
            self._node_of[execution_id] = nodes[0].split(".", 1)[1] if nodes else None
        return self._node_of[execution_id]

    def components(self) -> list[ComponentExecution]:
        """Each component's execution in this run, in the order they started."""
        out = []
        for ex in self.executions():
            node = self.node_of(ex.id)
            if node is None:
                continue
            seconds = max(ex.last_update_time_since_epoch - ex.create_time_since_epoch, 0) / 1000
            state, finished = _state(ex.last_known_state)
            out.append(ComponentExecution(node, ex.id, state, finished, round(seconds, 2)))
        return out

    def outputs(self) -> list[tuple[str, str, Any]]:
        """``(component id, output key, MLMD artifact)`` of every output artifact of this run.

        A cached component's outputs belong to the run too (its CACHED execution outputs them).
        """
        from ml_metadata.proto import metadata_store_pb2

        executions = self.executions()
        node_of = {ex.id: self.node_of(ex.id) for ex in executions}
        events = self.store.get_events_by_execution_ids([ex.id for ex in executions]) if executions else []
        kinds = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
        outputs = [e for e in events if e.type in kinds]
        ids = list({e.artifact_id for e in outputs})
        artifacts = {a.id: a for a in self.store.get_artifacts_by_id(ids)} if ids else {}
        out, seen = [], set()
        for e in outputs:
            key = e.path.steps[0].key if e.path.steps else ""
            once = (e.execution_id, key, e.artifact_id)
            if node_of.get(e.execution_id) and e.artifact_id in artifacts and once not in seen:
                seen.add(once)
                out.append((node_of[e.execution_id], key, artifacts[e.artifact_id]))
        return out


def run_artifacts(metadata_path: str, run_id: str) -> list[tuple[str, str, str]]:
    """``(component id, output key, uri)`` of every output artifact of this run, from MLMD."""
    return sorted({(node, key, art.uri) for node, key, art in RunReader(open_store(metadata_path), run_id).outputs()})


def ingest_counts(metadata_path: str, run_id: str) -> dict[str, int] | None:
    """Rows read and rows dropped as incomplete, from this run's Examples (DataIngest)."""
    for node, key, art in RunReader(open_store(metadata_path), run_id).outputs():
        if (node, key) == ("DataIngest", "examples") and "rows_dropped" in art.custom_properties:
            props = art.custom_properties
            counts = {"rows_dropped": int(props["rows_dropped"].int_value)}
            if "rows_read" in props:
                counts["rows_read"] = int(props["rows_read"].int_value)
            return counts
    return None


def cached_push(metadata_path: str, run_id: str) -> dict[str, Any] | None:
    """What a cached Pusher pushed earlier: its PushedModel artifact in this run's context."""
    store = open_store(metadata_path)
    ctx = store.get_context_by_type_and_name(RUN_CONTEXT_TYPE, run_id)
    if ctx is None:
        return None
    for art in store.get_artifacts_by_context(ctx.id):
        props = art.custom_properties
        if "pushed" in props and props["pushed"].int_value == 1 and "pushed_version" in props:
            pushed = {
                "version": props["pushed_version"].int_value,
                "path": display_path(props["pushed_destination"].string_value),
                "created": False,
            }
            # The version's own model card, as the run that pushed it reported it.
            from components.common import storage
            from components.model_card.logic import CARD_DIR, CARD_HTML

            card = storage.join(props["pushed_destination"].string_value, CARD_DIR, CARD_HTML)
            if storage.exists(card):
                pushed["model_card"] = display_path(card)
            return pushed
    return None
