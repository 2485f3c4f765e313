"""crm.netguard: the one SSRF check every outbound call to a URL from outside goes through."""

from __future__ import annotations

import http.server
import ipaddress
import socket
import threading
from dataclasses import replace

import pytest

from crm import netguard
from crm.netguard import Refused, Unresolvable, check_url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/hook", "Only https://"),
        ("ftp://example.com/hook", "Only https://"),
        ("javascript:alert(1)", "Only https://"),
        ("", "Only https://"),
        ("https://", "needs a host"),
        ("https://user:pw@example.com/", "no user name or password"),
        ("https://example.com:99999/", "port is not valid"),
        ("https://example.com:-1/", "port is not valid"),
        ("https://exa\x00mple.com/", "NUL"),
        ("https://127.0.0.1/", "non-public address (127.0.0.1)"),
        ("https://localhost:8443/", "non-public address"),
        ("https://10.1.2.3/", "non-public"),
        ("https://192.168.0.1/", "non-public"),
        ("https://169.254.169.254/latest/meta-data", "non-public"),
        ("https://[::1]/", "non-public"),
        ("https://[::ffff:10.0.0.1]/", "non-public"),
        ("https://[2002:7f00:1::1]/", "non-public"),  # 6to4 around 127.0.0.1
        ("https://224.0.0.1/", "non-public"),
        ("https://0.0.0.0/", "non-public"),
        ("https://100.64.0.1/", "non-public"),  # carrier-grade NAT
    ],
)
def test_it_refuses_with_a_plain_reason(url, reason):
    with pytest.raises(Refused, match=reason.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        check_url(url, allow_private=False)


def test_refused_is_a_value_error_so_forms_can_show_it():
    with pytest.raises(ValueError, match="Only https://"):
        check_url("http://example.com/", allow_private=False)


def test_a_host_that_does_not_resolve_is_refused_as_unresolved():
    with pytest.raises(Unresolvable, match="could not be resolved"):
        check_url("https://no-such-host.invalid/hook", allow_private=False)


def test_a_public_address_passes_without_any_dns():
    check_url("https://93.184.216.34/hook", allow_private=False)
    check_url("https://[2606:4700:4700::1111]:8443/hook?x=1", allow_private=False)


def test_plain_http_follows_allow_private_unless_told_otherwise():
    assert check_url("https://127.0.0.1:9/x?y=1", allow_private=True) == netguard.Target(
        scheme="https", host="127.0.0.1", port=9, path="/x?y=1", address="127.0.0.1"
    )
    assert check_url("http://127.0.0.1:9/", allow_private=True).address == "127.0.0.1"
    with pytest.raises(Refused, match="Only https://"):
        check_url("http://127.0.0.1:9/", allow_private=True, allow_insecure=False)
    with pytest.raises(Refused, match="Only https://"):
        check_url("http://93.184.216.34/", allow_private=False)
    check_url("http://93.184.216.34/", allow_private=False, allow_insecure=True)


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    with pytest.raises(Refused, match=r"non-public address \(10\.0\.0\.7\)"):
        check_url("https://mixed.example/", allow_private=False)


def test_the_connection_goes_to_the_checked_address_whatever_dns_says_later(monkeypatch):
    """No rebinding: the socket connects to the address that was checked, not to a second lookup."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        target = replace(  # as check_url left it: the name checked, its address kept
            netguard.target(f"http://hook.example:{port}/x", allow_insecure=True), address="127.0.0.1"
        )
        # The name does not even resolve any more: the pinned connection never asks for it.
        real = socket.getaddrinfo
        asked: list[str] = []

        def resolve(host, *args, **kwargs):
            asked.append(host)
            return [] if host == "hook.example" else real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", resolve)
        connection = netguard.pinned_connection(target, timeout=5)
        connection.request("GET", target.path)
        assert connection.getresponse().status == 204
        connection.close()
        assert seen == [f"hook.example:{port}"] and "hook.example" not in asked
    finally:
        server.shutdown()
        server.server_close()


def test_a_target_never_connects_unchecked():
    with pytest.raises(ValueError, match="check the URL first"):
        netguard.pinned_connection(netguard.target("https://93.184.216.34/"), timeout=1)


def test_is_public_sees_ipv4_hidden_inside_ipv6():
    assert netguard.is_public(ipaddress.ip_address("93.184.216.34"))
    assert not netguard.is_public(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert not netguard.is_public(ipaddress.ip_address("2001:0:4136:e378:8000:63bf:f5ff:fffe"))  # Teredo
