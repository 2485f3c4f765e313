"""Private PostgreSQL, Redis and RabbitMQ instances for the chaos run, which restarts each of them.

The machine's shared services (5432, 6379, 5672) serve other test runs and stacks at the same time, so the
chaos run never touches them: it starts a throwaway cluster, server and node of its own on free ports,
points every process it starts at them through the environment, and restarts those.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def wait_listening(port: int, *, up: bool = True, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while listening(port) != up:
        if time.monotonic() > deadline:
            raise TimeoutError(f"port {port} did not go {'up' if up else 'down'} in {timeout:.0f} s")
        time.sleep(0.1)


def _as(user: str, command: list[str], env: dict[str, str] | None = None) -> None:
    """Run a command as ``user`` when we are root: initdb and RabbitMQ refuse to run as root."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", user, "--", *command]
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def _owned_dir(path: Path, user: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, user)
    return path


@dataclass
class PrivateServices:
    """One PostgreSQL cluster, one Redis server and one RabbitMQ node, in a temporary directory."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="switchboard-chaos-")))
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    amqp_port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.root.chmod(0o755)  # the postgres and rabbitmq users work inside it
        self.node = f"chaos{self.amqp_port}@localhost"

    # --- environment for everything the run starts --------------------------------------------------

    def env(self, database: str) -> dict[str, str]:
        return {
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{self.pg_port}/{database}",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CELERY_RESULT_BACKEND": f"redis://127.0.0.1:{self.redis_port}/0",
            "CELERY_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{self.amqp_port}//",
        }

    def start(self) -> PrivateServices:
        try:
            # RabbitMQ's Erlang node boots for seconds: PostgreSQL and Redis start meanwhile.
            self._rabbitmq_init()
            self._postgres_init()
            self.start_postgres()
            self.start_redis()
            wait_listening(self.amqp_port)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for stop in (self._stop_rabbitmq, self._stop_redis, self._stop_postgres):
            with contextlib.suppress(subprocess.CalledProcessError, OSError, TimeoutError):
                stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- PostgreSQL ---------------------------------------------------------------------------------

    @property
    def _pg_data(self) -> Path:
        return self.root / "pg" / "data"

    def _pg_ctl(self, *args: str) -> None:
        options = f"-p {self.pg_port} -k {self.root / 'pg'} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c max_connections=300"
        log = self.root / "pg" / "server.log"
        _as(
            "postgres",
            [str(PG_BIN / "pg_ctl"), "-D", str(self._pg_data), "-l", str(log), "-o", options, *args],
        )

    def _postgres_init(self) -> None:
        _owned_dir(self.root / "pg", "postgres")
        _as("postgres", [str(PG_BIN / "initdb"), "-D", str(self._pg_data), "-A", "trust", "-U", "postgres",
                         "--no-sync"])  # fmt: skip

    def start_postgres(self) -> None:
        self._pg_ctl("-w", "start")

    def restart_postgres(self) -> None:
        """Every connection is cut; the server is back within a second or two."""
        self._pg_ctl("-w", "-m", "fast", "restart")

    def _stop_postgres(self) -> None:
        self._pg_ctl("-w", "-m", "immediate", "stop")

    def _pg_tool(self, tool: str, database: str, *args: str) -> None:
        where = ["-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "-d", database]
        subprocess.run([str(PG_BIN / tool), *where, *args], check=True, stdout=subprocess.DEVNULL)

    def pg_dump(self, database: str, path: Path) -> None:
        self._pg_tool("pg_dump", database, "--no-owner", "-f", str(path))

    def psql(self, database: str, path: Path) -> None:
        """Run an SQL file (a pg_dump) in ``database``, all of it or nothing."""
        self._pg_tool("psql", database, "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", str(path))

    # --- Redis --------------------------------------------------------------------------------------

    def start_redis(self) -> None:
        subprocess.run(
            ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(self.redis_port),
             "--save", "", "--appendonly", "no", "--dir", str(self.root),
             "--logfile", str(self.root / "redis.log"), "--pidfile", str(self.root / "redis.pid")],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_listening(self.redis_port)

    def restart_redis(self) -> None:
        """Shut down without saving (everything in it is lost, as after a crash), then start afresh."""
        self._stop_redis()
        self.start_redis()

    def _stop_redis(self) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(self.redis_port), "shutdown", "nosave"],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_listening(self.redis_port, up=False)

    # --- RabbitMQ -----------------------------------------------------------------------------------

    def _rabbitmq_env(self) -> dict[str, str]:
        base = self.root / "rabbitmq"
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "node.pid"),
            # The machine's own config names the shared node's listener and plugins: ours has its own.
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        }

    def _rabbitmqctl(self, *args: str) -> None:
        # Debian's wrappers run the tools as the rabbitmq user (its Erlang cookie) and keep our environment.
        subprocess.run(["rabbitmqctl", "-n", self.node, *args], check=True, env=self._rabbitmq_env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip

    def _rabbitmq_init(self) -> None:
        base = _owned_dir(self.root / "rabbitmq", "rabbitmq")
        (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.amqp_port}\n")
        (base / "enabled_plugins").write_text("[].\n")
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "rabbitmq", str(base)], check=True)
        subprocess.run(["rabbitmq-server", "-detached"], check=True, env=self._rabbitmq_env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip

    def start_rabbitmq(self) -> None:
        """The RabbitMQ node alone (stop() removes it with the rest)."""
        self._rabbitmq_init()
        wait_listening(self.amqp_port)

    def queue(self, name: str) -> tuple[int, int] | None:
        """A queue of the private node: (messages ready, consumers), or None if it does not exist. Over
        AMQP (a passive declare), not rabbitmqctl, whose Erlang start takes seconds on a loaded machine."""
        from amqp.exceptions import NotFound
        from kombu import Connection

        with Connection(self.env("")["CELERY_BROKER_URL"], connect_timeout=5) as conn:
            try:
                _, ready, consumers = conn.channel().queue_declare(name, passive=True)
            except NotFound:
                return None
        return ready, consumers

    def restart_rabbitmq(self) -> None:
        """The broker application stops (every connection closes) and starts again; durable queues and
        persistent messages survive it."""
        self._rabbitmqctl("stop_app")
        self._rabbitmqctl("start_app")
        wait_listening(self.amqp_port)

    def _stop_rabbitmq(self) -> None:
        self._rabbitmqctl("stop")
