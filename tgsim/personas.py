"""Scripted users: a persona answers DMs with some probability after a human-like delay, and may write
first to given users. Replies go through World.say, so they reach clients exactly like a real user's
message (pts, pushes, getDifference)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tgsim.world import World

DEFAULT_TEXTS = ["ok", "Thanks!", "Sounds good", "Who is this?", "Tell me more", "Not interested, sorry"]


class Personas:
    def __init__(self, world: World) -> None:
        self.world = world
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Future] = set()
        self._pending: set[tuple[int, int]] = set()  # (persona, correspondent) with an answer scheduled

    def on_message(self, persona_id: int, from_id: int) -> None:
        """A DM reached ``persona_id``; maybe schedule an answer. Personas never answer each other, so
        two scripted users can't talk forever."""
        persona = self.world.users[persona_id].persona
        sender = self.world.users.get(from_id)
        if persona is None or sender is None or sender.persona is not None:
            return
        if (persona_id, from_id) in self._pending:
            return  # one answer per burst: people reply to a conversation, not to each line
        rng = self.world.rng
        if rng.random() >= persona.reply_probability:
            return
        delay = rng.uniform(persona.delay_min, max(persona.delay_min, persona.delay_max))
        text = rng.choice(persona.texts or DEFAULT_TEXTS)
        self._pending.add((persona_id, from_id))
        self.spawn(self._say_later(persona_id, from_id, text, delay))

    def write_first(self, persona_id: int) -> None:
        persona = self.world.users[persona_id].persona
        if persona is None:
            return
        rng = self.world.rng
        for target in persona.writes_first:
            delay = rng.uniform(persona.delay_min, max(persona.delay_min, persona.delay_max))
            self.spawn(self._say_later(persona_id, target, rng.choice(persona.texts or DEFAULT_TEXTS), delay))

    async def _say_later(self, persona_id: int, to_id: int, text: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self._pending.discard((persona_id, to_id))
        user = self.world.users.get(persona_id)
        if user is None or user.deleted or user.banned or to_id not in self.world.users:
            return
        self.world.say(persona_id, to_user_id=to_id, text=text)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run in the server's loop: directly when called from it, thread-safely from elsewhere (the HTTP
        control API may call in from another thread); dropped when no loop runs (offline world edits)."""
        try:
            task: asyncio.Future = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            if self.loop is None or not self.loop.is_running():
                coro.close()
                self._pending.clear()
                return
            asyncio.run_coroutine_threadsafe(coro, self.loop)
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in list(self._tasks):
            with contextlib.suppress(RuntimeError):
                task.cancel()
        self._tasks.clear()
        self._pending.clear()
