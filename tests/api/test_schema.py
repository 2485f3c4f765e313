"""Schemathesis over the OpenAPI document (bounded, in CI): generated requests to every operation, with a
valid key, never get a server error, and every answer matches its documented schema and status codes."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Account
from api.keys import key_create
from api.models import SCOPES

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


def no_internal_error(ctx, response, case):
    """502 (Telegram refused) and 504 (host timeout) are documented answers; a 500 never is."""
    assert response.status_code != 500, f"500 for {case.method} {case.formatted_path}"


CHECKS = [no_internal_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def _keep_the_test_connection():
    """As Django's test client does: a request must not close the test's own database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(make_account, settings, _keep_the_test_connection):
    # No session host runs here: commands time out at once and answer 202 / 504 as documented.
    settings.API_COMMAND_TIMEOUT = 0.05
    accounts = [make_account(status=Account.Status.ACTIVE) for _ in range(2)]
    return key_create(name="fuzz", scopes=list(SCOPES), accounts=accounts)[1]


@pytest.mark.fuzz
@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
