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
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import forms as account_forms
from inbox.models import Label
from outreach import forms as outreach_forms
from outreach.models import ScrapeJob, WarmupPlan
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
    "labels", "ids", "operator", "operators", "proxy", "file", "session_file", "next",
}  # fmt: skip
for module in (account_forms, outreach_forms):
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
    label = Label.objects.create(name="vip")
    audience = build.audience(build.contacts(2))
    campaign = build.campaign(audience, [account])
    job = ScrapeJob.objects.create(account=account, target="@group", audience=audience)
    plan = WarmupPlan.objects.create(account=account, days=3, start_limits={}, target_limits={})
    message = conversation.messages.order_by("id").first()
    real = {
        str(v)
        for v in (
            account.pk,
            conversation.pk,
            message.pk,
            label.pk,
            audience.pk,
            campaign.pk,
            job.pk,
            plan.pk,
        )
    }
    return {"admin": admin_user, "operator": operator, "ids": sorted(real)}


def _int_args(world) -> st.SearchStrategy[str]:
    # The int converter only matches ASCII digits: hostile here means too long or out of range.
    return st.one_of(
        st.sampled_from(world["ids"]),
        st.sampled_from(["0", "9223372036854775807", "9223372036854775808", "9" * 20, "9" * 5000]),
    )


def _str_args() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=20)).filter(
        lambda s: s and "/" not in s and s.strip(".") != ""
    )


def _upload(content: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("hostile.csv", content.encode("utf-8", "surrogatepass"), "text/csv")


# FUZZ_EXAMPLES raises the count for a deeper local run; CI keeps the bounded default.
EXAMPLES_PER_ROUTE = int(os.environ.get("FUZZ_EXAMPLES", "6"))


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_no_url_answers_hostile_input_with_a_server_error(world, role):
    """Every route in turn (one Hypothesis run each); all server errors are listed at the end."""
    client = Client(raise_request_exception=True)
    failures = []
    for route, _ in ROUTES:
        started = time.monotonic()
        try:
            _fuzz(client, world, world[role], route)
        except Exception as error:
            failures += [f"{route}: {_first_line(e)}" for e in getattr(error, "exceptions", [error])]
        if os.environ.get("FUZZ_TIMING"):
            print(f"{time.monotonic() - started:6.2f}s {route}")
    assert failures == [], "\n".join(failures)


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:300]


def _fuzz(client: Client, world, user, route: str) -> None:
    kinds = _converters(route)

    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=timedelta(seconds=20),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        args = {}
        for kind, name in kinds:
            strategy = _int_args(world) if kind == "int" else _str_args()
            args[name] = data.draw(strategy, label=name)
        path = _path_for(route, args)
        method = data.draw(st.sampled_from(["get", "post"]), label="method")
        fields = data.draw(hostile_fields, label="fields")
        client.force_login(user)
        if method == "get":
            request = lambda: client.get(path, fields)  # noqa: E731
        else:
            body: dict[str, object] = dict(fields)
            if data.draw(st.booleans(), label="with upload"):
                name = data.draw(st.sampled_from(["file", "session_file", "media"]), label="upload field")
                body[name] = _upload(data.draw(hostile_text, label="upload"))
            request = lambda: client.post(path, body)  # noqa: E731
        try:
            response = request()
        except Exception as error:  # the test client re-raises what would have been a 500
            raise AssertionError(
                f"{method.upper()} {path[:100]} raised {type(error).__name__}: {error!s:.200}"
            ) from error
        assert response.status_code < 500, f"{method.upper()} {path[:100]}: {response.status_code}"

    check()


def test_the_walk_finds_every_app_and_quotes_path_arguments():
    routes = [r for r, _ in ROUTES]
    assert {r.split("/")[0] for r in routes} >= {"inbox", "accounts", "outreach", "login"}
    assert _path_for("inbox/c/<int:pk>/m/<int:message_id>/", {"pk": "1", "message_id": "../x"}) == (
        "/inbox/c/1/m/..%2Fx/"
    )
