from __future__ import annotations

import base64
import itertools
import os

import pytest
from django.core.cache import cache
from hypothesis import settings as hypothesis_settings

from accounts import services
from accounts.models import Account
from crm.celery import app as celery_app
from crm.models import User

# Property tests judge results, not speed: on a loaded two-core machine one slow example is no failure.
hypothesis_settings.register_profile("switchboard", deadline=None)
hypothesis_settings.load_profile("switchboard")

# One keyring for the whole run, shared with the worker processes tests start (they read the environment).
TEST_KEYRING = "test1:" + base64.b64encode(b"switchboard-test-master-key-0001").decode()
os.environ["SWITCHBOARD_MASTER_KEYS"] = TEST_KEYRING
# Account command queues of this run only: test databases number accounts from 1 on every run, and
# session hosts of another run (or a running demo) must never take this run's commands.
os.environ["COMMAND_QUEUE_PREFIX"] = f"test{os.getpid()}.acct"
# The general worker's queue of this run only, in this process and every host and worker a test starts:
# session hosts queue work for the general worker (automation judges each received message by its id),
# and a running demo's worker must never take it: those ids are rows of another database.
os.environ["CELERY_DEFAULT_QUEUE"] = f"test{os.getpid()}.default"
celery_app.conf.task_default_queue = os.environ["CELERY_DEFAULT_QUEUE"]
# Cache keys of this run only, in this process and every web server, host and worker a test starts: API
# keys and accounts are numbered alike on every run, so a cache another run left behind (an
# Idempotency-Key's answer) would otherwise answer for this one.
os.environ["CACHE_KEY_PREFIX"] = f"test{os.getpid()}"


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """A test database of this run's own, so several test runs on one machine never share one."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = f"test_{db['NAME']}_{os.getpid()}"


@pytest.fixture(autouse=True)
def _test_keyring(settings):
    settings.SWITCHBOARD_MASTER_KEYS = TEST_KEYRING
    settings.COMMAND_QUEUE_PREFIX = os.environ["COMMAND_QUEUE_PREFIX"]


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Cache keys and live channels of this run only, cache keys cleared before each test: the Redis
    database may be shared with a running demo or another test run."""
    prefix = os.environ["CACHE_KEY_PREFIX"]
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": prefix}}
    # The live channels (crm.live) too, as the web processes and hosts tests start name them: the
    # settings were read before this module chose the run's prefix.
    settings.CACHE_KEY_PREFIX = prefix
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    yield


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_user("ada", password="pw-admin-1", role=User.Role.ADMIN)


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_user("otto", password="pw-operator-1", role=User.Role.OPERATOR)


@pytest.fixture
def outsider(db) -> User:
    return User.objects.create_user("olga", password="pw-outsider-1", role=User.Role.OPERATOR)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture(scope="session")
def tgsim(tmp_path_factory):
    """A tgsim data centre for the whole run (tests use distinct phone numbers and users)."""
    from tests.support.tgsim import SimThread

    sim = SimThread(tmp_path_factory.mktemp("tgsim")).start()
    yield sim
    sim.stop()


@pytest.fixture
def host_env(tgsim):
    """Environment for session host processes in a test: tgsim instead of Telegram, a short lease TTL."""
    return tgsim.host_env()


_phones = itertools.count(1)


@pytest.fixture
def api_app(db):
    return services.api_app_create(name="Switchboard test", api_id=611335, api_hash="0123456789abcdef" * 2)


@pytest.fixture
def make_account(api_app):
    def make(*, phone: str | None = None, status: str = Account.Status.NEW) -> Account:
        account = services.account_create(phone=phone or f"99966{2}{next(_phones):04d}", api_app=api_app)
        if status != Account.Status.NEW:
            Account.objects.filter(pk=account.pk).update(status=status)
            account.refresh_from_db()
        return account

    return make


@pytest.fixture(scope="module")
def chromium():
    """One Debian Chromium per test module (see tests/support/browser.py)."""
    from tests.support.browser import launch_chromium

    yield from launch_chromium()


@pytest.fixture
def browser_host_env(host_env):
    """host_env for session hosts started during browser tests: they keep Django's async-safety check."""
    from tests.support.browser import UNSAFE

    return {**host_env, UNSAFE: ""}


@pytest.fixture
def sentry_bodies():
    """Sentry initialised as in production, sending to a local collector; yields what it received."""
    import sentry_sdk

    from crm.sentry import init_sentry
    from tests.support.sentry import sentry_collector

    with sentry_collector() as (dsn, bodies):
        init_sentry(dsn, environment="test")
        try:
            yield bodies
        finally:
            sentry_sdk.init(dsn=None)
