"""A Telethon session whose state lives sealed in PostgreSQL instead of a local file."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable

from telethon.sessions import MemorySession
from telethon.tl import types

from accounts.sessions import SessionState


class VaultSession(MemorySession):
    """Telethon's in-memory session, persisted through a callback the session host provides.

    Telethon calls ``save()`` after it creates an auth key or changes DC, and sets the update state on
    disconnect; both end up in the sealed blob. Peers seen go to ``pending_entities`` for the host to
    flush into the account's bounded entity table.
    """

    def __init__(
        self,
        state: SessionState,
        *,
        persist: Callable[[SessionState], None],
        entities: list[tuple[int, int, str, str, str]] = (),  # type: ignore[assignment]
    ) -> None:
        super().__init__()
        self._persist = persist
        self._dc_id = state.dc_id
        self._server_address = state.server_address
        self._port = state.port
        self._takeout_id = state.takeout_id
        if state.auth_key:
            from telethon.crypto import AuthKey

            self._auth_key = AuthKey(state.auth_key)
        if state.date or state.pts:
            self._update_states[0] = types.updates.State(
                pts=state.pts,
                qts=state.qts,
                seq=state.seq,
                unread_count=0,
                date=datetime.datetime.fromtimestamp(state.date, tz=datetime.UTC),
            )
        for channel_id, pts in state.channels.items():
            self._update_states[int(channel_id)] = types.updates.State(
                pts=pts, qts=0, seq=0, unread_count=0, date=datetime.datetime.now(tz=datetime.UTC)
            )
        self._committed = dict(self._update_states)
        # The state last persisted (or loaded): a save with nothing new writes nothing. It holds the
        # auth key, like this session itself.
        self._persisted = self.snapshot()
        self._save_lock = asyncio.Lock()
        self._entities = set(entities)
        self.pending_entities: dict[int, tuple[int, int, str, str, str]] = {}

    def __repr__(self) -> str:
        # Never the key: this object sits in every host frame that touches a client.
        key = "set" if self._auth_key else "none"
        return f"<VaultSession dc={self._dc_id} auth_key={key}>"

    def snapshot(self) -> SessionState:
        """What is persisted: the connection and key as they are now, the update state as committed."""
        general = self._committed.get(0)
        return SessionState(
            dc_id=self._dc_id,
            server_address=self._server_address,
            port=self._port,
            auth_key=self._auth_key.key if self._auth_key else None,
            takeout_id=self._takeout_id,
            pts=general.pts if general else 0,
            qts=general.qts if general else 0,
            date=int(general.date.timestamp()) if general and general.date else 0,
            seq=general.seq if general else 0,
            channels={str(k): v.pts for k, v in self._committed.items() if k != 0},
        )

    def has_update_state(self) -> bool:
        return 0 in self._committed

    def pending_update_state(self) -> dict[int, types.updates.State]:
        """Telethon's update state right now (after ``internals.save_update_state(client)``)."""
        return dict(self._update_states)

    def update_state_changed(self, state: dict[int, types.updates.State]) -> bool:
        """Does ``state`` (from pending_update_state) differ from the committed one in anything that
        says an update arrived (pts, qts, seq)? The date alone moves with every empty getDifference on
        connect; resuming from an older date with the same pts misses nothing."""
        if state.keys() != self._committed.keys():
            return True
        for key, new in state.items():
            old = self._committed[key]
            if new.pts != old.pts or (key == 0 and (new.qts, new.seq) != (old.qts, old.seq)):
                return True
        return False

    def commit_update_state(self, state: dict[int, types.updates.State]) -> None:
        """Make ``state`` the one persisted: only once everything it covers has been stored.

        Telethon also saves the session on its own (on connect, on a keepalive, on disconnect); those
        saves keep the last committed update state, so the saved pts never runs ahead of the inbox.
        """
        self._committed = dict(state)

    async def save(self) -> None:  # type: ignore[override]
        # Telethon awaits this (utils.maybe_async). One write at a time per session: two concurrent
        # writes would carry the same version and the loser would look fenced out.
        # Telethon saves every minute per client (its keepalive): most of those saves have nothing new,
        # and skipping them here keeps an idle host off its database threads.
        async with self._save_lock:
            state = self.snapshot()
            if state == self._persisted:
                return
            await asyncio.to_thread(self._persist, state)
            self._persisted = state

    def process_entities(self, tlo: object) -> None:
        # Only peers new to this session, or whose hash, username, phone or name changed, are written:
        # the same peers come with every update and every reconnect (the account itself with each
        # get_me). Rows are kept as the entity table stores them, so a loaded row compares equal.
        for peer_id, access_hash, username, phone, name in self._entities_to_rows(tlo):
            row = (peer_id, access_hash, username or "", phone or "", (name or "")[:255])
            if row in self._entities:
                continue
            self._entities.add(row)
            if peer_id != 0:  # Telethon's self-marker row (id 0) stays in memory only
                self.pending_entities[peer_id] = row

    def take_pending_entities(self) -> list[tuple[int, int, str, str, str]]:
        rows, self.pending_entities = list(self.pending_entities.values()), {}
        return rows

    def delete(self) -> None:
        # auth.logOut: the key is dead; the host erases the sealed session itself.
        self._auth_key = None
