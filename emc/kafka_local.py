"""A real Apache Kafka (KRaft broker+controller nodes) from the official jars, on 127.0.0.1.

Development and CI machines have no Docker engine, so the project runs the official Kafka jars
(fetched by Maven from ``deploy/kafka/pom.xml``) with Java. Production uses a real cluster
(``deploy/compose.yaml``); nothing here is used there.

Contracts:
- ``ensure_jars`` never returns a half-downloaded folder: Maven copies into a temporary folder
  that is renamed into place only after it succeeded.
- ``LocalKafka.start`` formats the storage once (the cluster id is kept in ``data_dir``), so a
  restart on the same ``data_dir`` keeps topics and committed offsets. It returns only when the
  broker answers a metadata request listing itself, and raises ``LocalKafkaError`` with the
  last log lines when the JVM exits or the broker does not answer in time.
- Every failure is a ``LocalKafkaError``: a ``RuntimeError``, and a ``UserError`` so the CLI
  prints its message (which says what to install or change) without a traceback.
- One broker per ``data_dir``: a pid file guards it, and a live broker from the same folder is
  reported instead of started twice.
- ``LocalKafkaCluster`` runs n such nodes (``emc kafka --nodes 3``, ``EMC_KAFKA_NODES``): node
  ids 1…n, a static controller quorum of all of them, ports 2 apart (``node_ports``), one
  folder and one shared cluster id; it returns from ``start`` once every node is registered.
  With 3 nodes replication factors are 3 and ``min.insync.replicas`` 2: one node may die.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from core.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
POM_PATH = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
_KAFKA_JAR_GLOB = "kafka_2.13-*.jar"
_TAIL_LINES = 40


class LocalKafkaError(UserError, RuntimeError):
    """The local broker could not be fetched or started; the message says what to fix."""


# --------------------------------------------------------------------------- jars


def _has_kafka_jar(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob(_KAFKA_JAR_GLOB))


def ensure_jars(cache_dir: Path) -> Path:
    """Return ``cache_dir/kafka/libs`` holding the Kafka broker jars, downloading them if needed.

    The download runs ``mvn dependency:copy-dependencies`` on ``deploy/kafka/pom.xml`` into a
    temporary folder that is renamed into place only on success. Raises ``LocalKafkaError``
    naming what to install when ``mvn`` or ``java`` is missing, or with Maven's output when it
    fails.
    """
    libs = cache_dir / "kafka" / "libs"
    if _has_kafka_jar(libs):
        return libs
    missing = [tool for tool in ("mvn", "java") if shutil.which(tool) is None]
    if missing:
        raise LocalKafkaError(
            f"the Kafka jars are not in {libs} and {' and '.join(missing)} "
            "cannot be found to fetch them: install Java 17+ and Apache Maven "
            "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless maven), then retry"
        )
    libs.parent.mkdir(parents=True, exist_ok=True)
    tmp = libs.parent / f"libs.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    cmd = [
        "mvn", "-q", "-B", "-f", str(POM_PATH), "dependency:copy-dependencies",
        f"-DoutputDirectory={tmp}", "-DincludeScope=runtime",
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not _has_kafka_jar(tmp):
            output = "\n".join((proc.stdout + proc.stderr).splitlines()[-_TAIL_LINES:])
            raise LocalKafkaError(
                f"downloading the Kafka jars failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                f"{output}\nCheck network access to Maven Central (or a mirror in "
                "~/.m2/settings.xml)."
            )
        if libs.exists():  # an earlier, incomplete folder without the broker jar
            shutil.rmtree(libs)
        try:
            tmp.rename(libs)
        except OSError:
            if not _has_kafka_jar(libs):  # lost a race to another process: theirs is fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return libs


# --------------------------------------------------------------------------- configuration


def render_server_properties(
    port: int,
    controller_port: int,
    log_dir: Path,
    node_id: int = 1,
    voters: Sequence[tuple[int, int]] = (),
) -> str:
    """``server.properties`` of a KRaft broker+controller bound to 127.0.0.1.

    Without ``voters`` it is a single node (a dynamic quorum of itself, formatted with
    ``--standalone``); with ``voters`` (node id, controller port) of every node it is node
    ``node_id`` of a static quorum of those controllers (``controller.quorum.voters``).
    Replication factors are min(3, nodes); with 3 nodes or more ``min.insync.replicas`` (the
    broker default, so also for topics Faust creates) and the transaction log's min ISR are 2,
    so an ``acks=all`` write survives the loss of any one node. The group rebalance delay is
    0 so consumers in tests and at start-up get partitions at once; the log cleaner's buffer
    is small because the heap is. The broker session timeout is 5 s instead of 9 s: after a
    crash (SIGKILL) the restarted broker cannot register until the controller has fenced its
    previous incarnation, and in a cluster the leaders of a killed node move after it; so this
    is how long a restart after a crash, or a partition without leader, waits; heartbeats every
    second keep a busy machine well inside it.
    """
    nodes = max(1, len(voters))
    replication = str(min(3, nodes))
    min_isr = "2" if nodes >= 3 else "1"
    quorum = (
        {
            "controller.quorum.voters": ",".join(
                f"{voter}@127.0.0.1:{cport}" for voter, cport in voters
            )
        }
        if voters
        else {"controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}"}
    )
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        **quorum,
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dir),
        "num.partitions": "1",
        "default.replication.factor": replication,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": replication,
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": replication,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replication,
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        "broker.session.timeout.ms": "5000",
        "broker.heartbeat.interval.ms": "1000",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        "log.retention.hours": "168",
    }
    header = "# Written by emc.kafka_local on every start; edits are overwritten.\n"
    return header + "".join(f"{key}={value}\n" for key, value in props.items())


def render_log4j2_properties() -> str:
    """log4j2 configuration: INFO and above to a rolling ``server.log`` in ``kafka.logs.dir``,
    WARN and above also to the console (the process's ``stdout.log``)."""
    return """\
# Written by emc.kafka_local on every start; edits are overwritten.
status = warn
name = emc-local-kafka

appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
appender.console.filter.threshold.type = ThresholdFilter
appender.console.filter.threshold.level = warn

appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 10MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3

rootLogger.level = info
rootLogger.appenderRef.console.ref = console
rootLogger.appenderRef.file.ref = file

logger.request.name = kafka.request.logger
logger.request.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
"""


def java_command(
    java_bin: str, libs_dir: Path, heap: str, log4j_file: Path, logs_dir: Path, main: str
) -> list[str]:
    """The JVM command line for one of Kafka's main classes, with the jars in ``libs_dir``."""
    return [
        java_bin, f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={log4j_file}", f"-Dkafka.logs.dir={logs_dir}",
        "-cp", f"{libs_dir}/*", main,
    ]  # fmt: skip


# --------------------------------------------------------------------------- broker


class LocalKafka:
    """One local Kafka process on ``data_dir``; see the module docstring for the contract."""

    def __init__(
        self,
        libs_dir: Path,
        data_dir: Path,
        port: int,
        controller_port: int,
        heap: str = "512m",
        java_bin: str = "java",
        node_id: int = 1,
        voters: Sequence[tuple[int, int]] = (),
        cluster_id_file: Path | None = None,
    ) -> None:
        self.libs_dir = Path(libs_dir)
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self.java_bin = java_bin
        #: node of a static quorum of ``voters`` (node id, controller port); () = single node
        self.node_id = node_id
        self.voters = tuple(voters)
        self._shared_cluster_id = cluster_id_file
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None

    # ---- paths
    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def _log_dir(self) -> Path:
        return self.data_dir / "log"

    @property
    def _props_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def _log4j_file(self) -> Path:
        return self.data_dir / "log4j2.properties"

    @property
    def _pid_file(self) -> Path:
        return self.data_dir / "kafka.pid"

    @property
    def _cluster_id_file(self) -> Path:
        return self._shared_cluster_id or self.data_dir / "cluster_id"

    @property
    def _stdout_log(self) -> Path:
        return self.logs_dir / "stdout.log"

    # ---- lifecycle
    def start(self, timeout_s: float = 60) -> None:
        """Start the broker and return once it answers; ``LocalKafkaError`` otherwise."""
        if self.is_running():
            return
        self.launch()
        self.wait_ready(timeout_s)

    def launch(self) -> None:
        """Start the JVM without waiting for it to answer (the nodes of a cluster answer only
        once a quorum of controllers runs: ``LocalKafkaCluster`` launches all, then waits)."""
        if self.is_running():
            return
        if not _has_kafka_jar(self.libs_dir):
            raise LocalKafkaError(
                f"no {_KAFKA_JAR_GLOB} in {self.libs_dir}: run `make jars` (or ensure_jars)"
            )
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._refuse_if_already_running()
        for name, port in (
            ("EMC_KAFKA_PORT", self.port),
            ("EMC_KAFKA_CONTROLLER_PORT", self.controller_port),
        ):
            if not _port_free(port):
                raise LocalKafkaError(
                    f"port 127.0.0.1:{port} is already in use: stop what listens there or "
                    f"choose another port ({name})"
                )
        self._props_file.write_text(
            render_server_properties(
                self.port, self.controller_port, self._log_dir, self.node_id, self.voters
            )
        )
        self._log4j_file.write_text(render_log4j2_properties())
        self._format_storage_once()
        cmd = [*self._java("kafka.Kafka", self.heap), str(self._props_file)]
        self._close_log()  # a handle left by a run that crashed on its own
        self._log_handle = self._stdout_log.open("ab")
        self._log_handle.write(f"=== emc.kafka_local start {time.ctime()}\n".encode())
        self._log_handle.flush()
        try:
            # Own session: a Ctrl-C in the terminal reaches the supervisor, which stops the
            # broker last, after the processes that still produce or commit.
            self._proc = subprocess.Popen(
                cmd, stdout=self._log_handle, stderr=subprocess.STDOUT, start_new_session=True
            )
        except FileNotFoundError as exc:
            self._close_log()
            raise LocalKafkaError(self._java_missing()) from exc
        self._pid_file.write_text(str(self._proc.pid))

    def stop(self, timeout_s: float = 30) -> None:
        """SIGTERM (a clean shutdown that flushes the log), then SIGKILL after ``timeout_s``.
        Safe to call twice or before ``start``."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._finish()

    def request_stop(self) -> None:
        """Send SIGTERM and return at once (``stop`` waits for the exit)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: a crash, for outage tests. Data written so far stays in ``data_dir``."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        self._finish()

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- helpers
    def _java(self, main: str, heap: str) -> list[str]:
        return java_command(
            self.java_bin, self.libs_dir, heap, self._log4j_file, self.logs_dir, main
        )

    def _java_missing(self) -> str:
        return (
            f"Java executable {self.java_bin!r} not found: install Java 17+ "
            "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set EMC_JAVA_BIN"
        )

    def _run_tool(self, args: list[str]) -> str:
        cmd = self._java("kafka.tools.StorageTool", "256m") + args
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        except FileNotFoundError as exc:
            raise LocalKafkaError(self._java_missing()) from exc
        if proc.returncode != 0:
            output = "\n".join((proc.stdout + proc.stderr).splitlines()[-_TAIL_LINES:])
            raise LocalKafkaError(f"kafka StorageTool {args[0]} failed:\n{output}")
        return proc.stdout

    def _format_storage_once(self) -> None:
        """Create the cluster id once and format ``log.dirs`` if it holds no metadata yet."""
        if not self._cluster_id_file.exists():
            cluster_id = self._run_tool(["random-uuid"]).strip().splitlines()[-1].strip()
            tmp = self._cluster_id_file.with_suffix(".tmp")
            tmp.write_text(cluster_id)
            tmp.replace(self._cluster_id_file)
        if (self._log_dir / "meta.properties").exists():
            return
        cluster_id = self._cluster_id_file.read_text().strip()
        # a static quorum (``voters``) is formatted as it is; a single node as its own quorum
        quorum = [] if self.voters else ["--standalone"]
        self._run_tool([
            "format", "-t", cluster_id, "-c", str(self._props_file), *quorum,
            "--ignore-formatted",
        ])  # fmt: skip

    def _refuse_if_already_running(self) -> None:
        try:
            pid = int(self._pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        if _is_our_broker(pid, self._props_file):
            raise LocalKafkaError(
                f"a Kafka broker from {self.data_dir} is already running (pid {pid}): "
                f"stop it first (kill {pid}) or use another data folder (EMC_DATA_DIR)"
            )
        self._pid_file.unlink(missing_ok=True)

    def wait_ready(self, timeout_s: float) -> None:
        """Return once the launched broker answers; ``LocalKafkaError`` when it exits or does
        not answer within ``timeout_s`` (it is then killed)."""
        deadline = time.monotonic() + timeout_s
        while True:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                self._finish()
                raise LocalKafkaError(
                    f"Kafka exited during start-up (exit code {code}); last log lines:\n"
                    f"{self._tail()}"
                )
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                self.kill()
                raise LocalKafkaError(
                    f"Kafka did not answer on {self.bootstrap} within {timeout_s:g} s; "
                    f"last log lines:\n{self._tail()}"
                )
            if _port_accepts(self.port) and _broker_answers(self.bootstrap, min(5.0, remaining_s)):
                return
            time.sleep(0.25)

    def _tail(self) -> str:
        lines: list[str] = []
        for path in (self.logs_dir / "server.log", self._stdout_log):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").splitlines()
                lines += [f"{path.name}: {line}" for line in text[-_TAIL_LINES:]]
        return "\n".join(lines[-_TAIL_LINES:]) or "(no log output)"

    def _close_log(self) -> None:
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def _finish(self) -> None:
        self._close_log()
        if self._proc is not None and self._proc.poll() is not None:
            self._pid_file.unlink(missing_ok=True)


# --------------------------------------------------------------------------- cluster


def node_ports(port: int, controller_port: int, nodes: int) -> list[tuple[int, int]]:
    """(broker port, controller port) of each of ``nodes`` local nodes: node 1 on the given
    ports, each next node 2 higher (9092/9093, 9094/9095, 9096/9097 with the defaults)."""
    return [(port + 2 * i, controller_port + 2 * i) for i in range(nodes)]


class LocalKafkaCluster:
    """``nodes`` local KRaft nodes (each broker and controller, node ids 1…n, a static quorum)
    on loopback, one ``LocalKafka`` per node in ``data_dir/node-<id>`` sharing one cluster id.
    With one node it is exactly ``LocalKafka`` (same folder layout as before, ``data_dir``).
    For trying a cluster and for tests (``kill_node`` is a crash of one node); a production
    cluster is deployed, not started from here."""

    def __init__(
        self,
        libs_dir: Path,
        data_dir: Path,
        port: int,
        controller_port: int,
        nodes: int = 1,
        heap: str = "512m",
        java_bin: str = "java",
    ) -> None:
        if nodes < 1:
            raise LocalKafkaError(f"a cluster needs at least one node, not {nodes}")
        self.data_dir = Path(data_dir).resolve()
        ports = node_ports(port, controller_port, nodes)
        if nodes == 1:
            self.nodes = [
                LocalKafka(libs_dir, self.data_dir, port, controller_port, heap, java_bin)
            ]
            return
        voters = [(i + 1, cport) for i, (_, cport) in enumerate(ports)]
        self.nodes = [
            LocalKafka(
                libs_dir,
                self.data_dir / f"node-{i + 1}",
                bport,
                cport,
                heap,
                java_bin,
                node_id=i + 1,
                voters=voters,
                cluster_id_file=self.data_dir / "cluster_id",
            )
            for i, (bport, cport) in enumerate(ports)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def node(self, node_id: int) -> LocalKafka:
        return self.nodes[node_id - 1]

    def start(self, timeout_s: float = 120) -> None:
        """Launch every node that is not running, then wait until each answers and the cluster
        lists all of them; ``LocalKafkaError`` (everything stopped) otherwise."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout_s
        try:
            for node in self.nodes:
                node.launch()
            for node in self.nodes:
                node.wait_ready(max(1.0, deadline - time.monotonic()))
            while not _cluster_lists(self.bootstrap, len(self.nodes), 5.0):
                if time.monotonic() > deadline:
                    raise LocalKafkaError(
                        f"the {len(self.nodes)} local Kafka nodes did not all register within "
                        f"{timeout_s:g} s"
                    )
                time.sleep(0.25)
        except BaseException:
            self.stop()
            raise

    def start_node(self, node_id: int, timeout_s: float = 90) -> None:
        """Start one node again (after ``kill_node``) and wait until it answers."""
        self.node(node_id).start(timeout_s)

    def kill_node(self, node_id: int) -> None:
        """SIGKILL one node: a crash. Its data stays; the others carry on."""
        self.node(node_id).kill()

    def stop(self, timeout_s: float = 30) -> None:
        """Stop every node (safe to call twice): SIGTERM to all at once, then wait for each.
        One by one, the last node's controlled shutdown would wait for a controller quorum
        that has gone (until ``timeout_s`` and a SIGKILL)."""
        for node in self.nodes:
            node.request_stop()
        for node in reversed(self.nodes):
            node.stop(timeout_s)

    def is_running(self) -> bool:
        """True while every node runs."""
        return all(node.is_running() for node in self.nodes)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --------------------------------------------------------------------------- probes


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _is_our_broker(pid: int, props_file: Path) -> bool:
    """Whether ``pid`` is alive and (where /proc tells) a Kafka started with ``props_file``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True
    with contextlib.suppress(OSError):
        return str(props_file).encode() in cmdline.read_bytes()
    return True


def _broker_answers(bootstrap: str, timeout_s: float) -> bool:
    """A metadata request through aiokafka that lists at least one (unfenced) broker."""
    return _cluster_lists(bootstrap, 1, timeout_s)


def _cluster_lists(bootstrap: str, brokers: int, timeout_s: float) -> bool:
    """A metadata request through aiokafka that lists at least ``brokers`` (unfenced) brokers.

    Runs in its own thread with its own event loop, because ``start`` may be called from code
    that already runs a loop (pytest-asyncio, the supervisor's helpers).
    """
    result: list[bool] = []

    async def probe() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        client = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000)
        )
        try:
            await asyncio.wait_for(client.start(), timeout_s)
            cluster = await asyncio.wait_for(client.describe_cluster(), timeout_s)
            return len(cluster.get("brokers") or ()) >= brokers
        finally:
            with contextlib.suppress(Exception):
                await client.close()

    def run() -> None:
        try:
            result.append(asyncio.run(probe()))
        except Exception:
            result.append(False)

    thread = threading.Thread(target=run, name="kafka-ready-probe", daemon=True)
    thread.start()
    thread.join(timeout_s + 5)
    return bool(result and result[0])
