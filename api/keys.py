"""Creating, revoking and checking API keys."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from api.models import SCOPES, ApiKey

log = logging.getLogger(__name__)
TOKEN = re.compile(r"sb_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
# last_used_at is written at most this often per key: a busy key must not write on every request.
TOUCH_EVERY = timedelta(seconds=60)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_create(
    *, name: str, scopes: Iterable[str], accounts: Iterable[Account], by: Any = None
) -> tuple[ApiKey, str]:
    """A new key and its token. The token is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ValueError("Give the key a name, so the audit log can say who did what")
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"Choose at least one scope from {', '.join(SCOPES)}")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name[:100], prefix=prefix, secret_hash=_digest(secret), scopes=scopes, created_by=by
        )
        key.accounts.set(list(accounts))
    log.info("API key %s (%s) created by %s", key.pk, key.name, by or "a service")
    return key, f"sb_{prefix}_{secret}"


def key_revoke(*, key_id: int, by: Any = None) -> bool:
    """Revoke the key: its next call answers 401. False when it was revoked already."""
    revoked = ApiKey.objects.filter(pk=key_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        log.info("API key %s revoked by %s", key_id, by or "a service")
    return bool(revoked)


def key_for(token: str | None) -> ApiKey | None:
    """The active key a bearer token names, or None. Unknown prefixes and wrong secrets look the same."""
    match = TOKEN.fullmatch((token or "").strip())
    if match is None:
        return None
    prefix, secret = match.groups()
    key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(secret)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > TOUCH_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def account_for(key: ApiKey, account_id: int) -> Account | None:
    """The account if the key may act for it; another key's account is the same as no account."""
    return key.accounts.filter(pk=account_id).first()
