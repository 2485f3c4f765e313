from __future__ import annotations

import pytest

from api.keys import key_create
from api.models import SCOPES


@pytest.fixture
def make_key(admin_user):
    """make_key(accounts, scopes=...) -> (ApiKey, token); every scope unless told."""

    def make(accounts, *, scopes=tuple(SCOPES), name="robot"):
        return key_create(name=name, scopes=scopes, accounts=accounts, by=admin_user)

    return make


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
