"""Apache Kafka (KRaft, one combined broker+controller) from its jars, with the machine's Java.

The jars are fetched once with Maven into the cache (a generated pom lists the broker and a
log4j2 binding); the storage is formatted once with a fresh cluster id.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from roleplay_local.paths import cache_dir, data_dir, log_dir
from roleplay_local.processes import (
    port_open,
    run_logged,
    run_sync,
    running_pid,
    start_detached,
    stop_pid,
    wait_until,
)

VERSION = "4.1.1"
LOG4J = "2.24.3"
# Kafka declares slf4j-api 1.7.36, which cannot see log4j's slf4j2 binding (the broker would
# log nothing): slf4j-api 2, declared here first, wins Maven's nearest-first mediation and
# still serves Kafka's 1.7-style calls.
SLF4J = "2.0.16"

POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>roleplay.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId>
      <version>{SLF4J}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId>
      <version>{LOG4J}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{LOG4J}</version></dependency>
  </dependencies>
</project>
"""

LOG4J2 = """<Configuration status="WARN">
  <Appenders><Console name="out" target="SYSTEM_OUT">
    <PatternLayout pattern="%d{ISO8601} %-5p [%c{1}] %m%n"/></Console></Appenders>
  <Loggers>
    <Logger name="kafka" level="WARN"/><Logger name="org.apache.kafka" level="WARN"/>
    <Logger name="kafka.server.KafkaRaftServer" level="INFO"/>
    <Logger name="kafka.Kafka$" level="INFO"/>
    <Root level="WARN"><AppenderRef ref="out"/></Root>
  </Loggers>
</Configuration>
"""


def port() -> int:
    return int(os.environ.get("ROLEPLAY_LOCAL_KAFKA_PORT", "19092"))


def libs() -> Path:
    """The jars, in a folder named after the pom that fetched them (a changed pom fetches anew
    next to the old folder, which a running broker may still be reading)."""
    digest = hashlib.sha256(POM.encode()).hexdigest()[:8]
    return cache_dir() / f"kafka-{VERSION}-{digest}" / "libs"


def home() -> Path:
    path = data_dir() / "kafka"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pid_file() -> Path:
    return home() / "kafka.pid"


def pid() -> int | None:
    return running_pid(pid_file())


def log_file() -> Path:
    return log_dir() / "kafka.log"


def installed() -> bool:
    return (libs().parent / ".complete").exists()


def install() -> None:
    if installed():
        return
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is required to run Kafka locally (Java 17 and Maven)")
    target = libs()
    target.mkdir(parents=True, exist_ok=True)
    pom = target.parent / "pom.xml"
    pom.write_text(POM)
    fetch_log = target.parent / "fetch.log"
    print(f"fetching Kafka {VERSION} jars with Maven (log: {fetch_log})…", flush=True)
    run_logged(
        [
            "mvn",
            "-B",
            "--no-transfer-progress",
            "-Dstyle.color=never",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={target}",
            "-DincludeScope=runtime",
        ],
        log_file=fetch_log,
        what="fetching Kafka's jars with Maven",
    )
    (target.parent / ".complete").write_text(VERSION)


def _java(*args: str) -> list[str]:
    config = home() / "log4j2.xml"
    return [
        "java",
        "-Xms256m",
        "-Xmx768m",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={config}",
        "-cp",
        f"{libs()}/*",
        *args,
    ]


def _properties(logs: Path) -> str:
    p = port()
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"listeners=PLAINTEXT://127.0.0.1:{p},CONTROLLER://127.0.0.1:{p + 1}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{p}",
            "controller.listener.names=CONTROLLER",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{p + 1}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={logs}",
            "num.partitions=3",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=true",
            "log.retention.hours=48",
            "",
        ]
    )


def start() -> None:
    if running_pid(pid_file()) is not None:
        return
    install()
    logs = home() / "data"
    config = home() / "server.properties"
    config.write_text(_properties(logs))
    (home() / "log4j2.xml").write_text(LOG4J2)
    if not (logs / "meta.properties").exists():
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        subprocess.run(
            _java(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster,
                "-c",
                str(config),
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    start_detached(_java("kafka.Kafka", str(config)), pid_file=pid_file(), log_file=log_file())


def ready() -> bool:
    if not port_open(port()):
        return False

    async def probe() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(
            bootstrap_servers=f"127.0.0.1:{port()}", request_timeout_ms=3000
        )
        try:
            await admin.start()
            await admin.list_topics()
            return True
        except Exception:
            return False
        finally:
            await admin.close()

    return run_sync(probe())


def wait_ready(timeout: float = 90.0) -> None:
    wait_until(
        ready,
        timeout=timeout,
        what="Kafka",
        log_file=log_file(),
        alive=lambda: running_pid(pid_file()) is not None,
    )


def stop() -> bool:
    return stop_pid(pid_file(), timeout=30.0)
