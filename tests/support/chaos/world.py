"""The chaos run's side of tgsim: who writes to our accounts, the storm itself, and what tgsim recorded.

Everything here runs on the simulator's loop (SimThread.run), because the world is not thread-safe.
"""

from __future__ import annotations

import asyncio
import os
import random
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.support.chaos.counting import Key

STORM = "storm "  # every inbound text of the storm starts with this


def channel_peer_id(channel_id: int) -> int:
    """A supergroup's id as our inbox stores it (Telethon's marked id)."""
    return -(10**12 + channel_id)


@dataclass
class Cast:
    """The tgsim side of the run: our accounts' users, the strangers who write to them, the groups they
    share, and the people the campaign reaches."""

    account_of: dict[int, int]  # tgsim user id -> our account id
    writers: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    recipients: list[int] = field(default_factory=list)
    samples: list[tuple[float, frozenset[int]]] = field(default_factory=list)
    sent: int = 0


def signed_in_keys(sim: Any, phones: list[str]) -> list[tuple[int, bytes]]:
    """Users for ``phones``, each with an auth key already signed in on tgsim: [(user id, key)].

    As a session imported from an earlier login (tgsim keeps keys with its world, as Telegram does):
    the run's accounts start from keys, without 300 handshakes whose pure-Python factoring on the client
    alone would take most of a short run.
    """

    def mint() -> list[tuple[int, bytes]]:
        world, server = sim.world, sim.sim.server
        now = int(time.time())
        minted = []
        for phone in phones:
            uid = world.create_user(phone=phone, first_name=f"Chaos{phone[-4:]}")
            key = os.urandom(256)
            salt = struct.unpack("<q", os.urandom(8))[0]
            server.load_keys([{"key": key.hex(), "salt": salt, "user_id": uid, "date_created": now}])
            minted.append((uid, key))
        return minted

    return sim.run(mint)


def populate(sim: Any, cast: Cast, *, groups: int, recipients: int) -> None:
    """Strangers who write, supergroups each holding a share of our accounts (and a few strangers), and
    campaign recipients named cm<n> (the campaign's text carries the name: its marker)."""

    def build() -> None:
        world = sim.world
        cast.writers = world.bulk_create_users(60, prefix="stormer")
        users = list(cast.account_of)
        for n in range(groups):
            members = users[n::groups] + cast.writers[n + groups :: groups]
            cast.groups.append(world.create_group(f"Chaos group {n}", cast.writers[n], members=members))
        cast.recipients = world.bulk_create_users(recipients, prefix="chaoslead")
        for n, uid in enumerate(cast.recipients):
            world.set_user(uid, first_name=f"cm{n}", last_name="")

    sim.run(build)


def storm(sim: Any, cast: Cast, rng: random.Random, *, private: int, group: int) -> None:
    """One burst: ``private`` messages from strangers to random accounts, ``group`` into random groups."""

    def burst() -> None:
        world = sim.world
        users = list(cast.account_of)
        for _ in range(private):
            cast.sent += 1
            world.say(rng.choice(cast.writers), to_user_id=rng.choice(users), text=f"{STORM}s{cast.sent}")
        for _ in range(group):
            cast.sent += 1
            chat = rng.choice(cast.groups)
            speaker = rng.choice([w for w in world.channels[chat].members if w not in cast.account_of])
            world.say(speaker, to_chat_id=chat, text=f"{STORM}s{cast.sent}")

    sim.run(burst)


async def _sample(sim: Any, cast: Cast, interval: float) -> None:
    server = sim.sim.server
    while True:
        online = frozenset(a for uid, a in cast.account_of.items() if server.is_online(uid))
        cast.samples.append((time.monotonic(), online))
        await asyncio.sleep(interval)


def start_sampling(sim: Any, cast: Cast, *, interval: float = 1.0) -> Any:
    """Record which accounts have a live connection to tgsim, every ``interval`` seconds."""

    async def start() -> Any:
        return asyncio.get_running_loop().create_task(_sample(sim, cast, interval))

    return sim.run(start())


def expected_inbound(sim: Any, cast: Cast) -> list[Key]:
    """Every storm message tgsim accepted for one of our accounts, as that account sees it."""

    def collect() -> list[Key]:
        world = sim.world
        keys: list[Key] = []
        for uid, account in cast.account_of.items():
            for msg in world.users[uid].box.values():
                if not msg.out and msg.text.startswith(STORM):
                    keys.append((account, msg.peer, msg.id))
        for chat in cast.groups:
            channel = world.channels[chat]
            ours = [(uid, a) for uid, a in cast.account_of.items() if uid in channel.members]
            for msg in channel.messages.values():
                if msg.text.startswith(STORM):
                    keys += [(a, channel_peer_id(chat), msg.id) for uid, a in ours if uid != msg.from_id]
        return keys

    return sim.run(collect)


def posted_at(sim: Any, cast: Cast, key: Key) -> int | None:
    """When tgsim took a storm message (unix time), or None if it is not a group message it knows."""
    _account, peer, message_id = key

    def find() -> int | None:
        for chat in cast.groups:
            if channel_peer_id(chat) == peer:
                message = sim.world.channels[chat].messages.get(message_id)
                return message.date if message else None
        return None

    return sim.run(find)


def outbound_texts(sim: Any, cast: Cast) -> Iterator[str]:
    """What our accounts sent in private chats, as tgsim recorded it."""

    def collect() -> list[str]:
        world = sim.world
        return [m.text for uid in cast.account_of for m in world.users[uid].box.values() if m.out]

    return iter(sim.run(collect))


def auth_key_duplicated(sim: Any) -> int:
    """Keys tgsim refused as AUTH_KEY_DUPLICATED (a second live connection on one key)."""
    server = sim.sim.server
    return sim.run(
        lambda: max(server.stats["auth_key_duplicated"], sum(r.duplicated for r in server.keys.values()))
    )
