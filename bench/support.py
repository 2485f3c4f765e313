"""What the benchmarks share: a database of their own, real session hosts, logged-in accounts."""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


MASTER_KEYS = "bench:gfQshtSTN2Su1HhGmIILfIfaOL4tzjSVZ9wENMAwHXc="


def recreate_database(database: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://localhost/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def setup(*, database: str, queue_prefix: str) -> None:
    """Point Django at a fresh benchmark database (dropped and recreated), migrate, and set it up."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ["DATABASE_URL"] = f"postgresql://localhost/{database}"
    os.environ.setdefault("SWITCHBOARD_MASTER_KEYS", MASTER_KEYS)
    os.environ["COMMAND_QUEUE_PREFIX"] = f"{queue_prefix}{os.getpid()}.acct"
    recreate_database(database)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def views_setup(*, database: str, fresh: bool) -> None:
    """For timing the web's views in this process: production settings (DEBUG off: DEBUG keeps every
    query in memory) on a database of the benchmark's own, recreated and migrated unless reused, and
    plain static URLs (no collectstatic) instead of the hashed manifest."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ["DATABASE_URL"] = f"postgresql://localhost/{database}"
    os.environ.setdefault("SWITCHBOARD_MASTER_KEYS", MASTER_KEYS)
    if fresh:
        recreate_database(database)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    if fresh:
        call_command("migrate", verbosity=0)


def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and p95 in milliseconds of ``runs`` calls."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(int(len(samples) * 0.95) - 1, 0)]


def start_host(name: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """A real session host process (threads pool, its own control queue), logging to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool", "threads", "--concurrency", "8",
         "-Q", f"bench-{name}-{os.getpid()}", "--session-host",
         "--hostname", f"bench-{name}-{os.getpid()}@%h",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env={**os.environ, **env}, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def logged_in_accounts(sim, phones: list[str], *, first_name: str = "Bench") -> list[tuple[int, int]]:
    """Create the numbers in tgsim, log each in (50 at a time) and import it: [(account id, user id)]."""
    from accounts import imports, services
    from accounts.models import ApiApp
    from tests.support.accounts import log_in

    app = ApiApp.objects.first() or services.api_app_create(name="bench", api_id=1, api_hash="ab" * 16)
    users = [sim.world_call("create_user", phone=p, first_name=f"{first_name}{p[-4:]}") for p in phones]

    async def all_of_them():
        states = []
        for start in range(0, len(phones), 50):
            states += await asyncio.gather(*(log_in(sim, phone=p) for p in phones[start : start + 50]))
        return states

    states = sim.run(all_of_them(), timeout=900)
    ids = [
        imports.account_import(state=s, api_app=app, phone=p).pk for s, p in zip(states, phones, strict=True)
    ]
    return list(zip(ids, users, strict=True))


def wait(predicate: Callable[[], object], timeout: float, interval: float = 0.25) -> float:
    """Seconds until ``predicate()`` holds; TimeoutError after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    raise TimeoutError


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (load on the machine does not change it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pid(word: str) -> int:
    """Our child process whose command line holds ``word`` (web_server keeps its Popen to itself)."""
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(status.read_text().rsplit(")", 1)[1].split()[1])
            command = (status.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if parent == os.getpid() and word.encode() in command:
            return int(status.parent.name)
    raise LookupError(word)


class TgsimProcess:
    """tgsim in a process of its own (``python -m tgsim``), so the DC is not what a benchmark measures,
    seeded with users whose auth keys it already knows: accounts import those keys as saved sessions and
    resume without a login, as a fleet of real accounts does on every host restart."""

    def __init__(self, directory: Path, phones: list[str], *, first_name: str = "Bench") -> None:
        from tgsim.world import World

        directory.mkdir(parents=True, exist_ok=True)
        world = World()
        self.users = [world.create_user(phone=p, first_name=f"{first_name}{p[-5:]}") for p in phones]
        self.keys = [os.urandom(256) for _ in phones]
        self.phones = phones
        world_file = directory / "fleet.world"
        world.save(str(world_file))
        records = [
            {"key": key.hex(), "salt": int.from_bytes(os.urandom(7), "little"), "user_id": user}
            for key, user in zip(self.keys, self.users, strict=True)
        ]
        keys_file = Path(f"{world_file}.keys.json")
        keys_file.write_text(json.dumps(records))
        keys_file.chmod(0o600)
        self.public_key = directory / "fleet-dc.pub"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tgsim", "--world", str(world_file), "--no-limits",
             "--key-file", str(directory / "fleet-dc.pem"), "--keys-out", str(self.public_key)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=(directory / "tgsim.log").open("ab"), text=True,
        )  # fmt: skip
        line = self.process.stdout.readline() if self.process.stdout else ""
        found = re.search(r":(\d+) \(MTProto", line)
        if not found:
            self.process.kill()
            raise RuntimeError(f"tgsim did not start: {line!r}")
        self.port = int(found.group(1))

    def env(self) -> dict[str, str]:
        return {"TELEGRAM_DC": f"2@127.0.0.1:{self.port}", "TELEGRAM_SERVER_KEYS": str(self.public_key)}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def imported_accounts(sim: TgsimProcess, start: int, stop: int) -> list[int]:
    """Import the sim's users ``start:stop`` as active accounts with their saved sessions, in bulk
    (what ``accounts.imports.account_import`` writes, a thousand rows per statement)."""
    from django.db import transaction

    from accounts import services
    from accounts.devices import choose_device
    from accounts.models import Account, ApiApp, Lease, TelegramSession, session_context
    from accounts.sessions import SessionState, auth_key_id
    from crm import vault

    app = ApiApp.objects.first() or services.api_app_create(name="bench", api_id=1, api_hash="ab" * 16)
    with transaction.atomic():
        accounts = Account.objects.bulk_create(
            [
                Account(phone=phone, api_app=app, status=Account.Status.ACTIVE, **choose_device(seed=phone))
                for phone in sim.phones[start:stop]
            ],
            batch_size=1000,
        )
        Lease.objects.bulk_create([Lease(account=a) for a in accounts], batch_size=1000)
        sessions = []
        for account, key in zip(accounts, sim.keys[start:stop], strict=True):
            state = SessionState(dc_id=2, server_address="127.0.0.1", port=sim.port, auth_key=key)
            blob = vault.seal(state.to_bytes(), context=session_context(account_id=account.pk, version=1))
            sessions.append(
                TelegramSession(account=account, version=1, auth_key_id=auth_key_id(key), blob=blob)
            )
        TelegramSession.objects.bulk_create(sessions, batch_size=1000)
    return [a.pk for a in accounts]
