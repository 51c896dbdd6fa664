"""pipelines.local.progress: one line per component, read from the run's MLMD executions.

The executions are written by TFX's own publishing code (``execution_publish_utils``, what
LocalDagRunner's launcher calls) into a real SQLite MLMD store, while ``Progress`` reads it
from its thread; the whole pipeline's progress is exercised in tests/e2e/test_pipeline_local.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from pipelines.local.progress import Progress

PIPELINE, RUN = "penguins", "20260101T000000-abc123"


class _Lines:
    """Collects the printed lines; lets the test wait for one (the watcher runs in a thread)."""

    def __init__(self):
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def __call__(self, line: str) -> None:
        with self._changed:
            self.lines.append(line)
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 20.0) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: any(text in line for line in self.lines), timeout), self.lines


class _Run:
    """Registers and publishes executions of one pipeline run as TFX's launcher does."""

    def __init__(self, metadata_path: str, run_id: str = RUN):
        from ml_metadata.proto import metadata_store_pb2
        from tfx.orchestration import metadata

        self._pb = metadata_store_pb2
        self.handle = metadata.Metadata(metadata.sqlite_metadata_connection_config(metadata_path))
        self.handle.__enter__()
        store = self.handle.store
        self._types = {name: store.put_context_type(metadata_store_pb2.ContextType(name=name))
                       for name in ("pipeline", "pipeline_run", "node")}
        self.pipeline = self._context("pipeline", PIPELINE)
        self.run = self._context("pipeline_run", run_id)

    def _context(self, kind: str, name: str):
        found = self.handle.store.get_context_by_type_and_name(kind, name)
        if found is not None:
            return found
        ctx = self._pb.Context(type_id=self._types[kind], name=name)
        ctx.id = self.handle.store.put_contexts([ctx])[0]
        return ctx

    def start(self, node: str) -> tuple[int, list]:
        from tfx.orchestration.portable import execution_publish_utils

        contexts = [self.pipeline, self.run, self._context("node", f"{PIPELINE}.{node}")]
        execution = execution_publish_utils.register_execution(
            self.handle, self._pb.ExecutionType(name=f"tfx.{node}"), contexts)
        return execution.id, contexts

    def succeed(self, started: tuple[int, list]) -> None:
        from tfx.orchestration.portable import execution_publish_utils

        execution_publish_utils.publish_succeeded_execution(self.handle, started[0], started[1])

    def cache(self, started: tuple[int, list]) -> None:
        from tfx.orchestration.portable import execution_publish_utils

        [execution] = self.handle.store.get_executions_by_id([started[0]])
        execution_publish_utils.publish_cached_executions(self.handle, started[1], [execution])

    def fail(self, started: tuple[int, list]) -> None:
        from tfx.orchestration.portable import execution_publish_utils

        execution_publish_utils.publish_failed_execution(self.handle, started[1], started[0])

    def close(self) -> None:
        self.handle.__exit__(None, None, None)


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "metadata.sqlite")


def test_a_line_as_each_component_starts_and_ends(store_path):
    lines = _Lines()
    with Progress(store_path, RUN, 3, lines, interval_s=0.05) as progress:
        run = _Run(store_path)
        ingest = run.start("DataIngest")
        lines.wait_for("[1/3] DataIngest ...")  # seen running, before it ends
        time.sleep(0.3)
        run.succeed(ingest)
        lines.wait_for("[1/3] DataIngest done in")
        run.cache(run.start("SchemaGen"))
        trainer = run.start("Trainer")
        lines.wait_for("[3/3] Trainer ...")
        run.fail(trainer)
        run.close()
    assert lines.lines[:2] == ["[1/3] DataIngest ...", lines.lines[1]]
    assert lines.lines[1].startswith("[1/3] DataIngest done in ") and float(lines.lines[1].split()[-1][:-1]) >= 0.2
    assert lines.lines[2:4] == ["[2/3] SchemaGen ...", lines.lines[3]]
    assert lines.lines[3].startswith("[2/3] SchemaGen done in ") and lines.lines[3].endswith("s (cached)")
    assert lines.lines[4] == "[3/3] Trainer ..." and lines.lines[5].startswith("[3/3] Trainer FAILED after ")
    assert len(lines.lines) == 6
    assert list(progress.components) == ["DataIngest", "SchemaGen", "Trainer"]
    assert [c["state"] for c in progress.components.values()] == ["executed", "cached", "failed"]
    assert progress.components["DataIngest"]["seconds"] >= 0.2
    assert len({c["execution_id"] for c in progress.components.values()}) == 3
    assert progress.error is None


def test_components_that_end_between_two_reads_get_both_lines_in_order(store_path):
    """The last read, on exit, prints what the periodic reads missed: nothing is lost."""
    lines = _Lines()
    with Progress(store_path, RUN, 2, lines, interval_s=3600) as progress:
        run = _Run(store_path)
        run.succeed(run.start("DataIngest"))
        run.cache(run.start("StatisticsGen"))
        run.close()
    assert [line.rsplit(" in ", 1)[0] for line in lines.lines] == [
        "[1/2] DataIngest ...", "[1/2] DataIngest done", "[2/2] StatisticsGen ...", "[2/2] StatisticsGen done"]
    assert lines.lines[-1].endswith("(cached)")
    assert {n: c["state"] for n, c in progress.components.items()} == {"DataIngest": "executed", "StatisticsGen": "cached"}


def test_an_execution_left_running_is_reported_failed_and_other_runs_are_ignored(store_path):
    """An interrupted run leaves its execution RUNNING in MLMD; an earlier run's executions are not this run's."""
    earlier = _Run(store_path, run_id="20250101T000000-000000")
    earlier.succeed(earlier.start("DataIngest"))
    earlier.close()
    lines = _Lines()
    with Progress(store_path, RUN, 13, lines, interval_s=0.05) as progress:
        run = _Run(store_path)
        run.start("Transform")
        lines.wait_for("[1/13] Transform ...")
        time.sleep(0.3)
        run.close()
    assert lines.lines[0] == "[1/13] Transform ..." and lines.lines[1].startswith("[1/13] Transform FAILED after ")
    assert len(lines.lines) == 2
    assert progress.components["Transform"]["state"] == "other" and progress.components["Transform"]["seconds"] >= 0.3


def test_no_store_yet_is_no_error(store_path):
    """A run that fails before its first component leaves no store: no line, no error."""
    lines = _Lines()
    with Progress(store_path, RUN, 13, lines, interval_s=0.05) as progress:
        time.sleep(0.2)
    assert lines.lines == [] and progress.components == {} and progress.error is None
