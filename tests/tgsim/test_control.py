"""The loopback control API and the ``python -m tgsim`` command line."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_asyncio
from telethon import TelegramClient, errors
from telethon.sessions import StringSession
from telethon.tl import functions

from tgsim.client import configure_session, trust_key
from tgsim.control_http import ControlServer


async def http(port: int, verb: str, path: str, body: object = None) -> tuple[int, dict]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = b"" if body is None else json.dumps(body).encode()
    writer.write(f"{verb} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


@pytest_asyncio.fixture
async def control(sim):
    server = ControlServer(sim)
    await server.start()
    yield server
    await server.stop()


@pytest.mark.asyncio
async def test_healthz(sim, control):
    status, body = await http(control.port, "GET", "/healthz")
    assert status == 200 and body["ok"] and body["port"] == sim.port and body["dc_id"] == sim.dc_id


@pytest.mark.asyncio
async def test_fault_injected_over_http_reaches_telethon(sim, control, make_client):
    client = make_client()
    await client.connect()
    status, _ = await http(control.port, "POST", "/faults/inject", {"error_message": "PEER_FLOOD"})
    assert status == 200
    with pytest.raises(errors.PeerFloodError):
        await client(functions.help.GetConfigRequest())


@pytest.mark.asyncio
async def test_only_public_methods_are_reachable(control):
    assert (await http(control.port, "POST", "/faults/_need_server", {}))[0] == 404
    assert (await http(control.port, "POST", "/faults/nope", {}))[0] == 404
    assert (await http(control.port, "POST", "/server/stop", {}))[0] == 404
    status, body = await http(control.port, "POST", "/faults/latency", {"wrong": 1})
    assert status == 400 and "TypeError" in body["error"]


def test_control_api_refuses_non_loopback(sim):
    with pytest.raises(ValueError):
        ControlServer(sim, host="0.0.0.0")  # noqa: S104 - the point of the test


@pytest.mark.asyncio
async def test_cli_serves_persists_key_and_resumes_sessions(tmp_path: Path):
    """Start the CLI, log a Telethon session's key in, stop with SIGTERM (saving), restart from the save:
    the same RSA key is trusted and the saved session resumes without a new handshake."""
    key_file, pub, save = tmp_path / "dc.pem", tmp_path / "dc.pub", tmp_path / "world.bin"

    async def start(world: str) -> tuple[asyncio.subprocess.Process, int, int]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tgsim", "--world", world, "--key-file", str(key_file),
            "--keys-out", str(pub), "--save", str(save),
            stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        lines = []
        while len(lines) < 2:
            lines.append((await asyncio.wait_for(proc.stdout.readline(), 30)).decode())
        port = int(re.search(r":(\d+) \(MTProto", lines[0]).group(1))
        control_port = int(re.search(r"127\.0\.0\.1:(\d+)/healthz", lines[1]).group(1))
        return proc, port, control_port

    proc, port, control_port = await start("empty")
    try:
        trust_key(pub.read_text())
        session = StringSession()
        configure_session(session, host="127.0.0.1", port=port, dc_id=2)
        client = TelegramClient(session, 1, "x")
        await client.connect()
        await client(functions.help.GetConfigRequest())
        saved = session.save()
        await client.disconnect()
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
    assert save.exists() and Path(f"{save}.keys.json").exists()

    proc, port, control_port = await start(str(save))
    try:
        session = StringSession(saved)
        configure_session(session, host="127.0.0.1", port=port, dc_id=2)
        client = TelegramClient(session, 1, "x")
        await client.connect()
        assert (await client(functions.help.GetConfigRequest())).dc_options[0].port == port
        await client.disconnect()
        _, health = await http(control_port, "GET", "/healthz")
        assert health["auth_keys"] == 1  # the loaded key, no new handshake
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
