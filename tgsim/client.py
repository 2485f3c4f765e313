"""Point a Telethon client at a tgsim: trust its RSA key and set its DC address. Nothing else differs
from talking to Telegram, which is the point."""

from __future__ import annotations

from telethon.crypto import rsa as telethon_rsa
from telethon.sessions.abstract import Session


def trust_key(pem: str) -> None:
    """Register the simulator's RSA public key (PKCS#1 PEM) with Telethon, as a current (not old) key."""
    telethon_rsa.add_key(pem, old=False)


def configure_session(session: Session, *, host: str, port: int, dc_id: int = 2) -> None:
    """Make the session connect to the simulator's DC. Keeps the session's auth key (MemorySession and
    StringSession keep it across set_dc; SQLiteSession reloads the key stored for that dc_id)."""
    session.set_dc(dc_id, host, port)
