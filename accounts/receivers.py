"""What accounts does when its own rows change behind its services (the admin site included)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed

from accounts.models import Account
from crm import live


def connect() -> None:
    m2m_changed.connect(
        on_operators_changed, sender=Account.operators.through, dispatch_uid="accounts.operators"
    )


def on_operators_changed(
    *, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **_: Any
) -> None:
    """Whoever gains or loses an account gets a new live stream (crm.live), subscribed to what they
    may see now: an operator whose access is revoked stops hearing that account at once."""
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if reverse:  # user.granted_accounts.add(...): the instance is the user
        users = {instance.pk}
    elif action == "pre_clear":  # before the rows go, while we can still read who had them
        users = set(instance.operators.values_list("pk", flat=True))
    else:
        users = set(pk_set or ())
    if users:
        live.user_rights_changed(users)
