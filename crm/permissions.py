from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Admins only; an operator gets 403 (anonymous visitors never get this far: login is required)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(request.user, "is_admin", False):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
