"""The REST door: /api/v1/, one route per declared tool (api.tools), OpenAPI at /api/v1/openapi.json and
interactive docs at /api/v1/docs."""

from __future__ import annotations

import inspect
import re
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from ninja import Body, NinjaAPI, Query, Router
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.responses import Status
from ninja.security.http import HttpAuthBase
from pydantic import create_model

from api import catalog  # noqa: F401 - declares the tools
from api.keys import key_for
from api.models import ApiKey
from api.tools import TOOLS, Accepted, Params, Problem, Tool, run

PATH_PARAM = re.compile(r"{(\w+)}")
ERRORS = frozenset({400, 401, 403, 404, 409, 429, 502, 504})
IDEMPOTENCY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "A retry with the same key does the write once (a message is sent once).",
    "schema": {"type": "string", "maxLength": 200},
}


class BearerKey(HttpAuthBase):
    """``Authorization: Bearer sb_…``. Never logs what was sent: it may be a real key in the wrong place."""

    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest) -> ApiKey | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return key_for(token)


api = NinjaAPI(
    title="Switchboard",
    version="1",
    description="Every account of the fleet, behind the same leases, budgets and recovery flows as the "
    "console. Errors are Problem bodies; 429 carries Retry-After; 202 and 504 name an operation to poll.",
    auth=BearerKey(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _problem(status: int, problem: Problem, headers: dict[str, str] | None = None) -> HttpResponse:
    response = api.create_response(None, problem.model_dump(exclude_none=True), status=status)  # type: ignore[arg-type]
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    details = [
        {
            "field": ".".join(str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path")),
            "problem": str(item.get("msg", "")),
        }
        for item in error.errors
    ]
    return _problem(400, Problem(error="invalid", reason="The request is not valid", details=details))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    """ninja's own refusals (a body that is not JSON, …) as Problems too."""
    kind = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(
        error.status_code, "invalid"
    )
    return _problem(
        error.status_code if error.status_code in ERRORS else 400,
        Problem(error=kind, reason=str(error.message)),
    )


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    response = _problem(
        401, Problem(error="unauthorized", reason="Send a valid API key: Authorization: Bearer sb_…")
    )
    response["WWW-Authenticate"] = 'Bearer realm="switchboard"'
    return response


def _view(spec: Tool) -> Any:
    """A view whose signature tells ninja the path, query and body params (and so the OpenAPI document)."""
    in_path = [name for name in PATH_PARAM.findall(spec.path) if name != "account"]
    fields = {name: f for name, f in spec.params.model_fields.items() if name not in in_path}
    rest = spec.params
    if in_path:
        rest = create_model(  # type: ignore[call-overload]
            f"{spec.params.__name__}Rest",
            __base__=Params,
            **{n: (f.annotation, f) for n, f in fields.items()},
        )

    def view(request: HttpRequest, **kwargs: Any) -> Any:
        account = kwargs.pop("account", None)
        params = kwargs.pop("params", None)
        unknown = sorted(set(request.GET) - query_names)
        if unknown:  # as a body's unknown fields are: a typo is an error, not a silent default
            details = [{"field": name, "problem": "Unknown query parameter"} for name in unknown[:10]]
            return _problem(400, Problem(error="invalid", reason="The request is not valid", details=details))
        try:
            answer = run(
                spec,
                key=request.auth,  # type: ignore[attr-defined]
                door="rest",
                account_id=account,
                values={**kwargs, **(params.model_dump(exclude_unset=True) if params is not None else {})},
                idempotency_key=request.headers.get("Idempotency-Key", ""),
            )
        finally:
            # Under ASGI this view runs in a thread of its own, and Django closes connections on another
            # thread at the end of the request: close this thread's now, or the web process keeps one per
            # request it served (measured in bench/api.py). Inside a transaction (tests) it stays open.
            if not connection.in_atomic_block:
                connection.close()
        if isinstance(answer.body, Problem):
            return _problem(answer.status, answer.body, answer.headers)
        return Status(answer.status, answer.body)

    in_query = spec.method in ("GET", "DELETE")
    query_names = {f.alias or name for name, f in fields.items()} if in_query else set()
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    wanted = [inspect.Parameter("request", positional, annotation=HttpRequest)]
    if spec.per_account:
        wanted.append(inspect.Parameter("account", positional, annotation=int))
    for name in in_path:
        wanted.append(
            inspect.Parameter(name, positional, annotation=spec.params.model_fields[name].annotation)
        )
    if fields:
        marker = Query if in_query else Body
        wanted.append(inspect.Parameter("params", positional, annotation=marker[rest]))  # type: ignore[index]
    view.__signature__ = inspect.Signature(wanted)  # type: ignore[attr-defined]
    view.__name__ = spec.name
    return view


router = Router()
for _spec in TOOLS.values():
    _responses: dict[Any, Any] = {200: _spec.result, ERRORS: Problem}
    if _spec.queued:
        _responses[202] = Accepted
    router.add_api_operation(
        _spec.path,
        [_spec.method],
        _view(_spec),
        response=_responses,
        operation_id=_spec.name,
        summary=_spec.summary,
        tags=[_spec.scope or "operations"],
        openapi_extra={"parameters": [IDEMPOTENCY]} if not _spec.idempotent else None,
    )


api.add_router("", router)


def urls() -> Any:
    """The API's URL patterns: outside the console's login (keys authenticate every call)."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = login_not_required(pattern.callback)  # type: ignore[union-attr,type-var]
    return patterns, app_name, namespace
