"""Container health check: ``python -m crm.healthcheck [--ready] [--url http://127.0.0.1:8000]``.

Runs without Django (it is started every few seconds). It asks the local web server with a Host header
taken from ALLOWED_HOSTS, because Django refuses any other host, 127.0.0.1 included, with a 400.
Exit status 0 when healthy, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request


def host_header(allowed_hosts: str) -> str:
    """A host name that ALLOWED_HOSTS accepts: its first entry (".example.com" allows "example.com")."""
    for entry in allowed_hosts.split(","):
        entry = entry.strip().lstrip(".")
        if entry and entry != "*":
            return entry
    return "localhost"


def check(*, url: str, ready: bool, environ: dict[str, str]) -> bool:
    headers = {"Host": host_header(environ.get("ALLOWED_HOSTS", ""))}
    if ready and environ.get("HEALTH_TOKEN"):
        headers["Authorization"] = f"Bearer {environ['HEALTH_TOKEN']}"
    path = "/readyz" if ready else "/healthz"
    request = urllib.request.Request(url.rstrip("/") + path, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (http:// of our own server)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready", action="store_true", help="readiness (database, Redis, broker)")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    healthy = check(url=args.url, ready=args.ready, environ=dict(os.environ))
    print("healthy" if healthy else "unhealthy")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
