"""The chaos run: session hosts, accounts and traffic under many faults at once, then the count.

bench/chaos.py runs it for minutes; tests/chaos/test_chaos_run.py runs the same thing for about one
(docs/chaos.md). It needs a process of its own: Django is set up here, on private services.
"""

from __future__ import annotations

import base64
import math
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time as clock
from pathlib import Path
from typing import Any

from tests.support.chaos import counting, world
from tests.support.chaos.hosts import Hosts
from tests.support.chaos.services import PrivateServices

DATABASE = "switchboard_chaos"
# Dumps of the migrated database, one per set of migrations (see _migrate).
SCHEMA_CACHE = Path(__file__).resolve().parents[3] / "var" / "cache" / "chaos"


@dataclass(frozen=True)
class Plan:
    seconds: float = 600.0  # the faults and the traffic; settling comes after
    accounts: int = 300
    hosts: int = 3
    kill_every: float = 60.0
    groups: int = 10
    recipients: int = 300
    senders: int = 30
    private_per_tick: int = 4  # storm messages per half second, besides one group message
    settle: float = 120.0
    seed: int = 15


def run(
    plan: Plan,
    *,
    logs: Path,
    say: Callable[[str], None] = print,
    counted: Callable[[counting.Report], None] = lambda report: None,
) -> counting.Report:
    """The run; ``counted`` gets the report as soon as it is counted, before the hosts and services stop
    (stopping them takes seconds to tens of seconds on a loaded machine)."""
    logs.mkdir(parents=True, exist_ok=True)
    services = PrivateServices().start()
    ports = f"PostgreSQL :{services.pg_port}, Redis :{services.redis_port}, RabbitMQ :{services.amqp_port}"
    say(f"private {ports}")
    try:
        began = time.monotonic()
        _django(services)
        say(f"database ready in {time.monotonic() - began:.0f} s")
        from tests.support.tgsim import SimThread

        sim = SimThread(logs).start()
        try:
            return Chaos(plan, services=services, sim=sim, logs=logs, say=say, counted=counted).run()
        finally:
            sim.stop()
    finally:
        services.stop()


def _django(services: PrivateServices) -> None:
    """Point this process (and, through the environment, every process it starts) at the private
    services, then create and migrate the database."""
    import psycopg

    os.environ.update(
        services.env(DATABASE),
        DJANGO_SETTINGS_MODULE="crm.settings",
        DEBUG="1",
        # A keyring of this run only: its database is thrown away with it.
        SWITCHBOARD_MASTER_KEYS="chaos:" + base64.b64encode(os.urandom(32)).decode(),
        COMMAND_QUEUE_PREFIX="chaos.acct",
        CELERY_DEFAULT_QUEUE="chaos.default",
        CACHE_KEY_PREFIX="chaos",
    )
    admin = f"postgresql://postgres@127.0.0.1:{services.pg_port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    import django

    django.setup()
    _migrate(services)


def _migrate(services: PrivateServices) -> None:
    """Migrate the fresh database, or load the dump of an earlier run's migrated one: migrating takes
    5-60 s on a loaded machine, most of the short run's budget; loading the dump takes about one. The
    dump is named after every migration on disk (names and contents), so a new one makes a new dump."""
    from django.core.management import call_command

    cached = SCHEMA_CACHE / f"{_migrations_digest()}.sql"
    if cached.exists():
        services.psql(DATABASE, cached)
        return
    call_command("migrate", verbosity=0)
    SCHEMA_CACHE.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    services.pg_dump(DATABASE, partial)
    partial.replace(cached)  # whole or not at all: a run killed mid-dump leaves no half a schema


def _migrations_digest() -> str:
    import hashlib
    import sys

    from django.db.migrations.loader import MigrationLoader

    digest = hashlib.sha256()
    migrations = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    for (app, name), migration in sorted(migrations.items()):
        digest.update(f"{app}.{name}\n".encode())
        digest.update(Path(sys.modules[type(migration).__module__].__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


class Chaos:
    def __init__(
        self,
        plan: Plan,
        *,
        services: PrivateServices,
        sim: Any,
        logs: Path,
        say: Callable[[str], None],
        counted: Callable[[counting.Report], None],
    ) -> None:
        self.plan = plan
        self.counted = counted
        self.services = services
        self.sim = sim
        self.say = say
        self.rng = random.Random(plan.seed)
        self.faults: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()  # what the traffic's own calls met (a caller sees these)
        env = sim.host_env()
        self.ttl = float(env.get("SESSION_LEASE_TTL", "5"))
        capacity = math.ceil(plan.accounts / max(plan.hosts - 1, 1))
        self.hosts = Hosts(env={**env, "SESSION_HOST_CAPACITY": str(capacity)}, logs=logs)
        self.replies = 0

    # --- the run ------------------------------------------------------------------------------------

    def run(self) -> counting.Report:
        started = time.monotonic()
        self.accounts = self._accounts()
        self.cast = world.Cast(account_of={uid: a for a, uid in self.accounts})
        world.populate(self.sim, self.cast, groups=self.plan.groups, recipients=self.plan.recipients)
        self.say(
            f"{len(self.accounts)} accounts logged in, world built in {time.monotonic() - started:.0f} s"
        )
        try:
            for _ in range(self.plan.hosts):
                self.hosts.start()
            self.hosts.start_worker()
            took = self._wait_connected()
            self.say(f"{self.plan.hosts} hosts connected every account in {took:.0f} s")
            self.campaign = self._campaign()
            sampler = world.start_sampling(self.sim, self.cast)
            try:
                self._chaos()
                settled = self._settle()
                self.say(f"settled in {settled:.0f} s")
            finally:
                self.sim.run(sampler.cancel)
            report = self._count()
            self.counted(report)
            if report.problems():
                self.hosts.dump_stacks()  # into each host's log, for whoever reads why
            return report
        finally:
            self.hosts.stop()

    def _accounts(self) -> list[tuple[int, int]]:
        """Active accounts imported from signed-in sessions: [(account id, tgsim user id)]."""
        from accounts import imports, services
        from accounts.sessions import SessionState

        app = services.api_app_create(name="chaos", api_id=1, api_hash="ab" * 16)
        phones = [f"999662{n:04d}" for n in range(self.plan.accounts)]
        keys = world.signed_in_keys(self.sim, phones)
        dc = self.sim.sim
        imported = []
        for phone, (uid, key) in zip(phones, keys, strict=True):
            state = SessionState(dc_id=dc.dc_id, server_address="127.0.0.1", port=dc.port, auth_key=key)
            imported.append((imports.account_import(state=state, api_app=app, phone=phone).pk, uid))
        return imported

    def _wait_connected(self) -> float:
        from accounts.models import Account

        ids = [a for a, _ in self.accounts]
        started = time.monotonic()
        while (connected := Account.objects.filter(pk__in=ids, telegram_id__isnull=False).count()) < len(ids):
            if time.monotonic() - started > 600:
                raise TimeoutError(f"{connected} of {len(ids)} accounts connected")
            time.sleep(1)
        return time.monotonic() - started

    def _campaign(self) -> Any:
        """A campaign from the first senders to every recipient, paced to last the whole run."""
        from inbox.models import Contact
        from outreach import services
        from outreach.models import Audience, AudienceMember, WarmupPlan

        people = self.sim.run(
            lambda: [
                (u, self.sim.world.users[u].username, f"cm{n}") for n, u in enumerate(self.cast.recipients)
            ]
        )
        contacts = Contact.objects.bulk_create(
            [Contact(telegram_id=uid, username=name, first_name=first) for uid, name, first in people]
        )
        audience = Audience.objects.create(name="Chaos leads")
        AudienceMember.objects.bulk_create([AudienceMember(audience=audience, contact=c) for c in contacts])
        senders = [a for a, _ in self.accounts[: self.plan.senders]]
        limits = {"new_dm": 1000, "resolve_username": 1000, "message": 1000}
        WarmupPlan.objects.bulk_create(
            [WarmupPlan(account_id=a, days=1, start_limits=limits, target_limits=limits) for a in senders]
        )
        each = math.ceil(len(contacts) / len(senders))
        gap = max(2, int(self.plan.seconds * 0.7 / each))
        campaign = services.campaign_create(
            name="Chaos", template="Chaos offer for {{first_name}}", audience=audience,
            senders=list(senders), daily_cap=each + 5, gap_min=gap // 2, gap_max=gap * 3 // 2,
            window_start=clock(0, 0), window_end=clock(0, 0), timezone="UTC",
        )  # fmt: skip
        services.campaign_start(campaign=campaign)
        return campaign

    # --- faults and traffic -------------------------------------------------------------------------

    def _schedule(self) -> list[tuple[float, str, Callable[[], None]]]:
        t = self.plan.seconds
        events = [(at, "kill -9 a host", self._kill) for at in _every(self.plan.kill_every, t * 0.9)]
        events += [
            (t * 0.12, "drop every connection", self._drop_all),
            (t * 0.55, "drop some accounts' connections", self._drop_some),
            (t * 0.2, "FLOOD_WAIT on sends (short)", lambda: self._flood(2, count=10)),
            (t * 0.5, "FLOOD_WAIT on sends (long)", lambda: self._flood(int(self.ttl) + 3, count=6)),
            (t * 0.3, "restart Redis", self._restarter("redis")),
            (t * 0.45, "restart RabbitMQ", self._restarter("rabbitmq")),
            (t * 0.65, "restart PostgreSQL", self._restarter("postgres")),
            (t * 0.35, "SIGSTOP a host past its lease", self._zombie),
        ]
        return sorted(events, key=lambda e: e[0])

    def _chaos(self) -> None:
        events = self._schedule()
        threads: list[threading.Thread] = []
        started = time.monotonic()
        tick = 0
        while (elapsed := time.monotonic() - started) < self.plan.seconds:
            while events and events[0][0] <= elapsed:
                _, name, action = events.pop(0)
                self.say(f"{elapsed:6.1f} s  {name}")
                # In a thread: traffic goes on while a service restarts or a host is paused.
                threads.append(threading.Thread(target=self._logged(name, action), daemon=True))
                threads[-1].start()
            world.storm(self.sim, self.cast, self.rng, private=self.plan.private_per_tick, group=1)
            if tick % 2 == 0:
                self._attempt("reply", self._reply)
            if tick % 4 == 0:
                self._attempt("campaign tick", self._tick)
            tick += 1
            time.sleep(max(0.0, started + tick * 0.5 - time.monotonic()))
        for thread in threads:
            thread.join(timeout=120)

    def _logged(self, name: str, action: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                action()
            except Exception as error:  # a fault that failed to happen is reported, and the test sees it
                self.say(f"fault {name!r} failed: {error!r}")

        return run

    def _attempt(self, what: str, call: Callable[[], None]) -> None:
        """The traffic's own calls meet the faults too (the database or broker restarting): count what
        they met, drop a broken connection, go on."""
        from django.db import connection

        try:
            call()
        except Exception as error:
            self.errors[f"{what}: {type(error).__module__}.{type(error).__name__}: {str(error)[:80]}"] += 1
            connection.close()

    def _reply(self) -> None:
        from inbox import services
        from inbox.models import Conversation

        conversation = (
            Conversation.objects.filter(kind="private", peer_id__in=self.cast.writers).order_by("?").first()
        )
        if conversation is not None:
            self.replies += 1
            services.reply_send(conversation=conversation, text=f"Noted, thanks rp{self.replies}", by=None)

    def _tick(self) -> None:
        from outreach import planner

        planner.campaign_tick(campaign_id=self.campaign.pk)

    def _holders(self) -> list[str]:
        from django.db import connection

        from accounts.models import Lease

        try:
            return list(Lease.objects.exclude(holder="").values_list("holder", flat=True))
        except Exception:
            connection.close()
            return []

    def _kill(self) -> None:
        victim = self.hosts.victim(self._holders(), self.rng.choice)
        if victim is not None:
            self.hosts.kill(victim)
            self.faults["hosts killed (kill -9)"] += 1
        self.hosts.start()
        self.faults["replacement hosts started"] += 1

    def _zombie(self) -> None:
        victim = self.hosts.victim(self._holders(), self.rng.choice)
        if victim is None:
            return
        self.hosts.pause(victim)
        self.faults["hosts paused past the lease TTL (SIGSTOP)"] += 1
        time.sleep(self.ttl * 2.5)
        self.hosts.resume(victim)
        self.faults["paused hosts resumed (SIGCONT)"] += 1

    def _drop_all(self) -> None:
        self.sim.fault("drop_connections")
        self.faults["tgsim dropped every connection"] += 1

    def _drop_some(self) -> None:
        for uid in self.rng.sample(list(self.cast.account_of), k=min(30, len(self.cast.account_of))):
            self.faults["tgsim dropped an account's connections"] += bool(
                self.sim.fault("drop_connections", uid)
            )

    def _flood(self, seconds: int, *, count: int) -> None:
        self.sim.fault("inject", f"FLOOD_WAIT_{seconds}", method="messages.sendMessage", count=count)

    def _restarter(self, service: str) -> Callable[[], None]:
        def restart() -> None:
            getattr(self.services, f"restart_{service}")()
            self.faults[f"{service} restarted"] += 1

        return restart

    # --- the end ------------------------------------------------------------------------------------

    def _open_operations(self) -> int:
        from accounts.models import Operation

        return Operation.objects.exclude(state__in=(Operation.State.DONE, Operation.State.FAILED)).count()

    def _settle(self) -> float:
        """Wait (no new traffic) until every command has an outcome and every message is stored."""
        started = time.monotonic()
        while time.monotonic() - started < self.plan.settle:
            time.sleep(2)
            try:
                if not self._open_operations() and not self._inbound().lost:
                    break
            except Exception:
                from django.db import connection

                connection.close()
        return time.monotonic() - started

    def _inbound(self) -> counting.Inbound:
        from inbox.models import Message

        stored = Message.objects.filter(direction="in", text__startswith=world.STORM).values_list(
            "conversation__account_id", "conversation__peer_id", "telegram_id"
        )
        return counting.inbound(expected=world.expected_inbound(self.sim, self.cast), stored=stored)

    def _count(self) -> counting.Report:
        from accounts.host.commands import SOMETHING_WENT_WRONG
        from accounts.models import Operation

        inbound = self._inbound()
        outbound, twice = counting.outbound_duplicated(world.outbound_texts(self.sim, self.cast))
        sent = sum(1 for text in world.outbound_texts(self.sim, self.cast) if counting.MARKER.search(text))
        operations = Operation.objects.values_list("state", "command", "reason")
        report = counting.Report(
            inbound_expected=len(world.expected_inbound(self.sim, self.cast)),
            inbound_lost=inbound.lost,
            inbound_duplicated=inbound.duplicated,
            outbound_sent=sent,
            outbound_duplicated=outbound,
            commands=len(operations),
            commands_lost=self._open_operations(),
            commands_failed_unexplained=sum(
                state == Operation.State.FAILED and reason == SOMETHING_WENT_WRONG
                for state, _, reason in operations
            ),
            auth_key_duplicated=world.auth_key_duplicated(self.sim),
            longest_offline=counting.longest_offline(self.cast.samples, [a for a, _ in self.accounts]),
        )
        report.faults.update(self.faults)
        for message, n in self.sim.run(lambda: dict(self.sim.faults.served)).items():
            report.faults[f"tgsim answered {message}"] += n
        report.notes += list(inbound.examples) + [f"sent twice: {m}" for m in twice]
        report.notes += self._explain_lost(inbound.lost_keys)
        still_open = Operation.objects.exclude(state__in=(Operation.State.DONE, Operation.State.FAILED))
        report.notes += self._explain(list(still_open[:10]))
        failed = Counter(f"{c}: {r}" for s, c, r in operations if s == Operation.State.FAILED)
        report.notes += [f"{n} failed for good: {why}" for why, n in failed.most_common(8)]
        report.notes += [f"{n} traffic calls met {what}" for what, n in self.errors.most_common()]
        report.notes.append(f"{self.cast.sent} storm messages, {self.replies} operator replies queued")
        return report

    def _explain_lost(self, keys: tuple[Any, ...]) -> list[str]:
        """For each lost message: when tgsim took it, which messages of that chat the account stored, and
        its inbox backfill (what stores a chat's messages from before the account's first connect)."""
        from accounts.models import Operation
        from inbox.models import Message

        lines = []
        for key in keys:
            account, peer, _ = key
            posted = world.posted_at(self.sim, self.cast, key)
            stored = sorted(
                Message.objects.filter(
                    conversation__account_id=account, conversation__peer_id=peer
                ).values_list("telegram_id", flat=True)
            )
            backfills = list(
                Operation.objects.filter(account_id=account, command="inbox.backfill").values_list(
                    "state", "queued_at", "updated_at"
                )
            )
            lines.append(
                f"lost {key}: posted {clock_of(posted)}; stored of that chat {stored[:12]}; backfills "
                + ", ".join(
                    f"{state} {queued:%H:%M:%S}-{updated:%H:%M:%S}" for state, queued, updated in backfills
                )
            )
        return lines

    def _explain(self, still_open: list[Any]) -> list[str]:
        """Where each open operation's account stands: its lease holder (and whether that host lives), the
        account as that host sees it, and its broker queue."""
        from accounts.models import HostLiveness, Lease, command_queue

        if not still_open:
            return []
        ids = sorted({op.account_id for op in still_open})
        leases = {lease.account_id: lease for lease in Lease.objects.filter(account_id__in=ids)}
        alive = dict(HostLiveness.objects.values_list("holder", "expires_at"))
        seen = self.hosts.account_states(ids)
        lines = []
        for op in still_open:
            lease = leases.get(op.account_id)
            holder = f"{lease.holder!r} #{lease.token}" if lease and lease.holder else "nobody"
            liveness = alive.get(lease.holder) if lease else None
            until = f"alive until {liveness:%H:%M:%S}" if liveness else "no liveness row"
            lines.append(
                f"open: {op.command} {op.state} {op.wait_reason} {op.reason!r} account {op.account_id} "
                f"queued {op.queued_at:%H:%M:%S} updated {op.updated_at:%H:%M:%S}; held by {holder} "
                f"({until}); on the hosts: {seen.get(op.account_id, 'held by none')}; "
                f"queue (ready, consumers) {self.services.queue(command_queue(op.account_id))}"
            )
        return lines


def clock_of(unix: int | None) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(unix)) if unix is not None else "?"


def _every(interval: float, until: float) -> list[float]:
    return [interval * n for n in range(1, int(until / interval) + 1)]
