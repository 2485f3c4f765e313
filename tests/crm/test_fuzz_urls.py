"""Hostile input never produces a server error: every URL of every urls.py, fuzzed with Hypothesis.

The resolver is walked, so a new view is fuzzed without anyone remembering to add it. Each pattern gets
hostile path arguments for its converters, hostile query strings (GET) and hostile form bodies with an
upload (POST), as an admin and as an operator. A bad value must end in a clear 4xx or a form error —
never a 500. No session host is needed: commands views queue go to this run's private queue prefix
(tests/conftest.py) and nobody consumes them.

Bounded on purpose (marker ``fuzz``): a fixed number of examples per pattern and a per-example deadline,
so the module runs in well under a minute.
"""

from __future__ import annotations

import os
import re
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts import forms as account_forms
from api import forms as api_forms
from api.keys import key_create
from contacts.services import custom_field_create
from inbox.models import Contact, Conversation, Label
from outreach import forms as outreach_forms
from outreach.models import ScrapeJob, WarmupPlan
from teams.services import member_add, team_create
from tests.support import outreach as build
from tests.support.inbox import conversation_make

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

# Django's own admin site is Django's code, fuzzed by Django; everything else is ours.
# healthz reads no input and waits a second for Celery pings on every call.
SKIPPED_PREFIXES = ("admin/", "healthz")

HOSTILE = [
    "",
    " ",
    "\x00",
    "1\x00",
    "a\x00b",
    "%00",
    "0",
    "-1",
    "-9223372036854775809",
    "9223372036854775807",
    "9223372036854775808",
    "9" * 20,
    "9" * 5000,
    "1_000",
    "1e3",
    " 7 ",
    "٣",
    "\uff11\uff12",  # fullwidth digits
    "²",
    "৭৮",
    "../../etc/passwd",
    "..%2f..%2f",
    "' OR 1=1 --",
    "1; DROP TABLE inbox_message;",
    "<script>alert(1)</script>",
    "{{first_name}}",
    "{" * 2000,
    "{a|b}" * 1000,
    "\\",
    "😀" * 50,
    "\u202e\u200b",
    "x" * 25_000,  # past every form's max_length, the note cap and spintax's MAX_LENGTH
    "true",
    "null",
    "[]",
    "on",
    "me",
    "csv",
    "start",
    "pause",
    "delete",
]

# Every name views read from GET/POST, plus every field of every form: the values that reach parsing code.
KNOWN_NAMES = {
    "page", "q", "account", "unread", "who", "label", "kind", "state", "before", "since", "v", "row",
    "template", "status", "host", "attention", "step", "action", "text", "reply_to", "anchor", "assignee",
    "labels", "ids", "operator", "operators", "proxy", "file", "session_file", "next", "capacity", "user",
    "on", "name",
}  # fmt: skip
for module in (account_forms, outreach_forms, api_forms):
    for value in vars(module).values():
        if isinstance(value, type) and hasattr(value, "base_fields"):
            KNOWN_NAMES.update(value.base_fields)
NAMES = sorted(KNOWN_NAMES)

hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
)
# Lists: a repeated key (?ids=1&ids=x) reaches getlist() and MultipleChoice fields.
hostile_values = st.lists(hostile_text, min_size=1, max_size=3)
# Either one hostile value in every field at once (so it reaches whichever field the view parses), or a
# random handful of fields.
hostile_fields = st.one_of(
    hostile_text.filter(lambda value: len(value) <= 5000).map(
        lambda value: {name: [value] for name in NAMES}
    ),
    st.dictionaries(st.sampled_from(NAMES), hostile_values, max_size=8),
)


def _walk(patterns, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            found += _walk(entry.url_patterns, route)
        else:
            found.append((route, entry))
    return found


ROUTES = _walk(get_resolver().url_patterns)


def _converters(route: str) -> list[tuple[str, str]]:
    """(name, kind) of each <converter:name> in the route, in order."""

    return re.findall(r"<(?:(\w+):)?(\w+)>", route)


def _path_for(route: str, args: dict[str, str]) -> str:

    def fill(match: re.Match[str]) -> str:
        return quote(args[match.group(2)], safe="")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The fuzz is about views, not hashing: users are created with a cheap hasher to keep the budget."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(admin_user, operator, make_account):
    """One of everything, so hostile requests also hit rows that exist (and the operator sees some)."""
    account = make_account(status="active")
    account.operators.add(operator)
    conversation = conversation_make(account, title="Grace", peer_id=4242, texts=("hi", "there"))
    Label.objects.create(name="vip")
    person = Contact.objects.create(telegram_id=4242, first_name="Grace", phone="+49 151 4242")
    Conversation.objects.filter(pk=conversation.pk).update(contact=person)
    field = custom_field_create(name="Tier", kind="choice", choices="Gold,Silver")
    audience = build.audience(build.contacts(2))
    campaign = build.campaign(audience, [account])
    job = ScrapeJob.objects.create(account=account, target="@group", audience=audience)
    plan = WarmupPlan.objects.create(account=account, days=3, start_limits={}, target_limits={})
    key, _ = key_create(name="fuzz", scopes=["fleet:read"], accounts=[account], by=admin_user)
    team = team_create(name="Fuzzers")
    member = member_add(team=team, user_id=operator.pk, capacity=2, by=admin_user)
    # The row each route's <int:pk> names (by the route's start), so a request can reach the view's body.
    rows = {
        "inbox/": conversation.pk,
        "accounts/": account.pk,
        "outreach/campaigns/": campaign.pk,
        "outreach/audiences/": audience.pk,
        "outreach/scraping/": job.pk,
        "outreach/warm-up/": plan.pk,
        "settings/api/": key.pk,
        "contacts/": person.pk,
        "settings/fields/": field.pk,
        "settings/teams/": team.pk,
    }
    message = conversation.messages.order_by("id").first()
    return {
        "admin": admin_user,
        "operator": operator,
        "rows": rows,
        "message": message.pk,
        "field": field.pk,
        "member": member.pk,
    }


def _real_args(route: str, world) -> dict[str, str]:
    """Path arguments naming rows that exist (and real actions), for the systematic sweep."""
    pk = next((pk for start, pk in world["rows"].items() if route.startswith(start)), 1)
    real = {
        "pk": pk,
        "message_id": world["message"],
        "field_id": world["field"],
        "member": world["member"],
        "action": "pause",
        "source": "csv",
    }
    return {name: str(real.get(name, "x")) for _, name in _converters(route)}


def _args(route: str, world) -> st.SearchStrategy[dict[str, str]]:
    # The int converter only matches ASCII digits: hostile there means too long or out of range.
    hostile_int = st.sampled_from(["0", "9223372036854775807", "9223372036854775808", "9" * 20, "9" * 5000])
    hostile_str = st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=20)).filter(
        lambda s: "/" not in s and s.strip(".") != ""
    )
    real = _real_args(route, world)
    return st.fixed_dictionaries(
        {
            name: st.one_of(st.just(real[name]), hostile_int if kind == "int" else hostile_str)
            for kind, name in _converters(route)
        }
    )


def _upload(value: str) -> SimpleUploadedFile:
    content = f"user_id,phone,first_name\n{value},{value},{value}\n"
    return SimpleUploadedFile("hostile.csv", content.encode("utf-8", "surrogatepass"), "text/csv")


# The classic hostile values, each sent once in every field of every route by GET and by POST, with a path
# that names real rows so the view's body runs: the systematic part. Hypothesis explores around it.
SWEEP = ["\x00", "²", "٣", "9" * 5000, "9223372036854775808", "{" * 2000, "1e308"]


def _sweep(offset: int) -> dict[str, list[str]]:
    return {name: [SWEEP[(i + offset) % len(SWEEP)]] for i, name in enumerate(NAMES)}


# FUZZ_EXAMPLES raises the count for a deeper local run; CI keeps the bounded default.
EXAMPLES_PER_ROUTE = int(os.environ.get("FUZZ_EXAMPLES", "3"))
UPLOAD_FIELDS = ["file", "session_file", "media"]


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_no_url_answers_hostile_input_with_a_server_error(world, role):
    """Every route in turn (one Hypothesis run each); all server errors are listed at the end."""
    client = Client(raise_request_exception=True)
    failures = []
    for route, _ in ROUTES:
        started = time.monotonic()
        try:
            client.force_login(world[role])
            _fuzz(client, world, world[role], route)
        except Exception as error:
            failures += [f"{route}: {_first_line(e)}" for e in getattr(error, "exceptions", [error])]
        if os.environ.get("FUZZ_TIMING"):
            print(f"{time.monotonic() - started:6.2f}s {route}")
    assert failures == [], "\n".join(failures)


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:300]


def _fuzz(client: Client, world, user, route: str) -> None:
    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=timedelta(seconds=20),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
        report_multiple_bugs=True,
    )
    @given(
        args=_args(route, world),
        method=st.sampled_from(["get", "post"]),
        fields=hostile_fields,
        upload=st.none() | st.tuples(st.sampled_from(UPLOAD_FIELDS), hostile_text),
    )
    def check(args: dict[str, str], method: str, fields: dict[str, list[str]], upload) -> None:
        path = _path_for(route, args)
        if route == "logout/":
            client.force_login(user)  # each example logs out
        try:
            # A savepoint: a database error in one request must not fail every request after it.
            with transaction.atomic():
                if method == "get":
                    response = client.get(path, fields)
                else:
                    files = {upload[0]: _upload(upload[1])} if upload else {}
                    response = client.post(path, {**fields, **files})
        except Exception as error:  # the test client re-raises what would have been a 500
            raise AssertionError(
                f"{method.upper()} {path[:100]} raised {type(error).__name__}: {error!s:.200}"
            ) from error
        assert response.status_code < 500, f"{method.upper()} {path[:100]}: {response.status_code}"

    real = _real_args(route, world)
    for n, value in enumerate(SWEEP):
        check = example(real, "get", _sweep(n), None)(check)
        check = example(real, "post", _sweep(n), ("file", value))(check)
    check()


def test_the_walk_finds_every_app_and_quotes_path_arguments():
    routes = [r for r, _ in ROUTES]
    assert {r.split("/")[0] for r in routes} >= {"inbox", "accounts", "outreach", "login"}
    assert _path_for("inbox/c/<int:pk>/m/<int:message_id>/", {"pk": "1", "message_id": "../x"}) == (
        "/inbox/c/1/m/..%2Fx/"
    )
