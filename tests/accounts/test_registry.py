"""The command registry: every command routed to an account's queue is declared, typed and reachable
both ways (wait for the typed result, or queue and read the operation), with typed errors."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from accounts import budgets, registry
from accounts.models import Account, Operation
from crm.celery import app
from tests.support.accounts import new_phone, ready_account
from tests.support.processes import session_host, wait_for

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "accounts",
    "inbox",
    "outreach",
    "contacts",
    "crm",
    "reports",
    "automation",
    "agents",
    "webhooks",
    "api",
)


def _all_tasks() -> dict:
    app.loader.import_default_modules()
    app.autodiscover_tasks(
        ["crm", "accounts", "inbox", "outreach", "automation", "agents", "webhooks"], force=True
    )
    app.autodiscover_tasks(["accounts", "inbox", "outreach"], related_name="commands", force=True)
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_task_routed_to_an_account_queue_is_a_declared_command_with_typed_params_and_result():
    tasks = _all_tasks()
    declared = registry.declared()
    assert {"messages.send", "inbox.reply", "outreach.send", "auth.send_code", "scrape.page"} <= set(declared)
    for name, spec in declared.items():
        assert spec.task.name == name and tasks[name].name == name, name
        assert issubclass(spec.params, registry.Params) and spec.params.model_json_schema()
        assert issubclass(spec.result, registry.Result) and spec.result.model_json_schema()
        assert spec.params.model_config.get("extra") == "forbid", name
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", name), name
        assert spec.budget is None or spec.budget in budgets.DEFAULT_BUDGETS, name
    # Everything else is a general-worker task: none is defined beside the commands.
    for name, task in tasks.items():
        if name not in declared:
            assert not task.__module__.endswith(".commands"), name
    # And only the registry sends a task to a chosen queue (the rest go to the general worker's; a
    # send_task by name without queue= goes there too).
    senders = []
    for app_name in APPS:
        for path in (ROOT / app_name).rglob("*.py"):
            text = path.read_text()
            if re.search(r"apply_async\(|\bqueue=", text):
                senders.append(str(path.relative_to(ROOT)))
    assert senders == ["accounts/registry.py"]


def test_params_are_checked_before_anything_is_queued(make_account):
    from accounts import commands

    account = make_account(status=Account.Status.ACTIVE)
    for bad in (
        {"peer": "@ann", "text": "", "random_id": 1},
        {"peer": "@ann", "text": "x" * 4097, "random_id": 1},
        {"peer": "@ann", "text": "hi", "random_id": 1, "colour": "red"},
        {"peer": "@ann", "text": "hi"},
    ):
        with pytest.raises(registry.InputError) as error:
            commands.send.queue(account, **bad)
        assert error.value.reason
    assert not Operation.objects.exists()


def test_the_outcome_is_recorded_once_and_subscribers_hear_of_it(make_account):
    from accounts import commands

    account = make_account(status=Account.Status.ACTIVE)
    heard = []

    def listener(sender, operation, **kwargs):
        heard.append((sender.name, operation.state, operation.reason))

    registry.command_finished.connect(listener)
    try:
        registry.record(
            commands.join,
            operation_id="8b0c1f5e-4b7e-4a53-9f8a-0f5d2f4a1a11",
            account_id=account.pk,
            error=registry.Wait(42, "slowmode"),
        )
        waiting = registry.outcome("8b0c1f5e-4b7e-4a53-9f8a-0f5d2f4a1a11")
        registry.record(
            commands.join,
            operation_id="8b0c1f5e-4b7e-4a53-9f8a-0f5d2f4a1a11",
            account_id=account.pk,
            result=commands.Joined(peer_id=5, title="Club"),
        )
    finally:
        registry.command_finished.disconnect(listener)
    done = registry.outcome("8b0c1f5e-4b7e-4a53-9f8a-0f5d2f4a1a11")
    assert waiting.state == "waiting" and waiting.wait_seconds == 42 and waiting.wait_reason == "slowmode"
    with pytest.raises(registry.Wait) as wait:
        registry.raise_for(waiting)
    assert wait.value.seconds == 42
    assert done.state == "done" and done.result == {"peer_id": 5, "title": "Club"} and done.reason == ""
    assert heard == [("chats.join", "waiting", waiting.reason), ("chats.join", "done", "")]
    assert Operation.objects.count() == 1
    assert registry.outcome("not-an-operation") is None
    assert registry.outcome("00000000-0000-0000-0000-000000000000") is None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_one_command_both_ways_against_tgsim_with_typed_errors(tgsim, host_env, api_app, tmp_path):
    from accounts import commands

    account, me = ready_account(tgsim, api_app, first_name="Both")
    friend = tgsim.world_call("create_user", phone=new_phone(), first_name="Friend", username=f"both{me}")
    # No host yet: the caller hears a host timeout, and the operation stays queued for when one comes.
    early = commands.send.queue(
        account, peer=f"@both{me}", text="queued early", random_id=random.getrandbits(63)
    )
    with pytest.raises(registry.HostTimeout):
        registry.wait(early, timeout=1)
    assert registry.outcome(early).state == "queued"
    with session_host("a", log_path=tmp_path / "host.log", env=host_env):
        sent = commands.send.run(
            account, peer=f"@both{me}", text="waited for", random_id=random.getrandbits(63), timeout=60
        )
        assert isinstance(sent, commands.Sent) and sent.message_id > 0
        queued = commands.send.queue(
            account, peer=f"@both{me}", text="queued", random_id=random.getrandbits(63)
        )
        result = registry.wait(queued, timeout=60)
        wait_for(lambda: registry.outcome(early).state == "done", timeout=30, what="the early command")
        with pytest.raises(registry.InputError) as unknown:
            commands.join.run(account, target="@no_such_group_anywhere", timeout=60)
        # The join budget is spent: the next join waits for it, and says so.
        for _ in range(budgets.DEFAULT_BUDGETS["join"].limit):
            budgets.take(account_id=account.pk, action="join")
        with pytest.raises(registry.Wait) as wait:
            commands.join.run(account, target=f"https://t.me/joinchat{me}", timeout=60)
    assert registry.outcome(queued).state == "done" and result["message_id"] > sent.message_id
    texts = [m["text"] for m in tgsim.world_call("messages_between", me, friend)]
    assert sorted(texts) == ["queued", "queued early", "waited for"]
    assert "cannot find" in unknown.value.reason
    assert (
        registry.outcome(Operation.objects.filter(command="chats.join", error="input").get().pk).error
        == "input"
    )
    assert wait.value.wait_reason == "budget" and wait.value.seconds > 0
    assert Operation.objects.filter(command="chats.join", state="waiting", wait_reason="budget").exists()


def test_the_web_process_does_not_import_telethon():
    """Everything the web process loads — settings, URLs and every view, the ASGI app, the apps'
    modules outside the session host and the Telegram layer — loads without Telethon."""
    script = f"""
import importlib, pkgutil, sys, django
django.setup()
import crm.urls, crm.asgi
from django.urls import get_resolver
for app in {APPS!r}:
    package = importlib.import_module(app)
    for info in pkgutil.walk_packages(package.__path__, app + "."):
        name = info.name
        # The session host and the Telegram layer are the worker's; management commands run alone.
        if any(part in name for part in (".host", ".telegram.", ".migrations", ".management")):
            continue
        importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "telethon")
print("TELETHON", len(loaded))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings", "DEBUG": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "TELETHON 0" in done.stdout, done.stdout


def test_old_operations_are_pruned_and_recent_ones_kept(make_account):
    from datetime import timedelta

    from django.utils import timezone

    account = make_account(status=Account.Status.ACTIVE)
    old = timezone.now() - timedelta(days=8)
    for n in range(7):
        Operation.objects.create(
            id=f"00000000-0000-0000-0000-00000000000{n}",
            account=account,
            command="messages.send",
            updated_at=old if n < 5 else timezone.now(),
        )
    assert registry.operations_prune(older_than=timedelta(days=7), batch=2) == 5
    assert Operation.objects.count() == 2
