"""One account's life on a session host: connect, watch, reconnect, checkpoint, disconnect."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError

from accounts import identity, leases, sessions
from accounts.host import hooks
from accounts.host.hosted import Hosted
from accounts.host.interface import Host
from accounts.host.loading import Unopenable
from accounts.host.orm import db
from accounts.models import Account
from accounts.services import account_transition, account_unopenable
from accounts.telegram import errors as tg_errors
from accounts.telegram import internals, profile, updates
from accounts.telegram.client import build_client
from accounts.telegram.session import VaultSession

if TYPE_CHECKING:
    from accounts.telegram.records import Me

log = logging.getLogger(__name__)

LOGIN_STATUSES = {Account.Status.NEW, Account.Status.CODE_SENT, Account.Status.PASSWORD_NEEDED}


def _persist(host: Host, hosted: Hosted, state: sessions.SessionState) -> None:
    """Telethon's save(), run in a worker thread: a fenced, sealed write of the session."""
    if hosted.lost:
        return  # a lost lease never writes (and never waits on the database on its way out)
    try:
        hosted.version = sessions.session_store(
            holder=host.name, grant=hosted.grant, state=state, version=hosted.version
        )
    except sessions.FencedOut:
        # Another host owns the account now, or it was revoked: never write again, and get out of its
        # way. Releasing after the disconnect frees a revoked lease and is a no-op for one moved on.
        log.warning("account %s: session write fenced out; dropping", hosted.account_id)
        _let_go(host, hosted)
    except IntegrityError as error:
        if not _is_key_clash(error):
            raise  # e.g. the account was deleted under us: the next renewal lets it go
        # Another account's session holds this very key: two connections would get it killed.
        reason = identity.key_clash(account_id=hosted.account_id)
        log.error("account %s: %s; dropping", hosted.account_id, reason)
        _let_go(host, hosted)


def _is_key_clash(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return "auth_key_id" in (getattr(diag, "constraint_name", None) or "")


def _let_go(host: Host, hosted: Hosted) -> None:
    """From a worker thread: never write again, and drop the account on the host's loop."""
    hosted.lost = True
    host.loop.call_soon_threadsafe(lambda: host.loop.create_task(host.drop(hosted, save=False, release=True)))


async def supervise(host: Host, hosted: Hosted) -> None:
    """Connect the account and keep it connected while the lease is ours.

    If this ever fails unexpectedly, the account is released, so that this or another host takes it up
    again later rather than holding a lease for a client that is not connected.
    """
    try:
        await _supervise(host, hosted)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("account %s: supervisor failed; releasing the account", hosted.account_id)
        await host.drop(hosted, save=False, release=True)


async def _connect(host: Host, hosted: Hosted) -> bool:
    """Build the client if needed and connect it within SESSION_CONNECT_TIMEOUT, holding one of the
    host's connect slots meanwhile; False when the account no longer exists.

    Telethon waits for the handshake without a deadline: a server that accepts TCP and never answers
    would pin this supervisor and the slot forever. A timeout is retried with backoff like any network
    error, and the half-open client is thrown away with the rest (see _discard_client). The build takes
    a slot too: thousands of accounts claimed at once then load in batches of about the slots, and
    never build thousands of clients in one turn of the loop (which would hold up the liveness beats).
    """
    async with host.connect_slots:
        if hosted.client is None and not await _build(host, hosted):
            return False
        assert hosted.client is not None
        await asyncio.wait_for(hosted.client.connect(), settings.SESSION_CONNECT_TIMEOUT)
    return True


async def _discard_client(hosted: Hosted) -> None:
    """Stop a client whose connection ended and forget it, so the next attempt builds a fresh one.

    Connecting the same TelegramClient again starts a second update loop beside the old one (Telethon's
    connect() creates _update_loop without stopping one still waiting for updates); the two apply
    differences on one message box, Telethon dies on it and what it had fetched is lost (invariant 4).
    Reconnecting the same client would also resume from the update state of the last checkpoint's
    snapshot rather than the committed one. A fresh client from the stored session resumes from the
    committed state and catches up from there; what it receives again is stored idempotently.
    """
    hosted.ready.clear()
    # A checkpoint under way finishes first: its session write must land before the fresh client
    # reads the stored session, or the two would disagree on the blob's version.
    async with hosted.checkpoint_lock:
        client, session = hosted.client, hosted.session
        hosted.client = hosted.session = None
    if client is None:
        return
    try:
        await client.disconnect()
    except Exception:
        log.debug("account %s: disconnect raised", hosted.account_id, exc_info=True)
    if session is not None and not hosted.lost:
        # Peers are not update state: keep what the old client learned.
        await _store_entities(hosted, session)


async def _build(host: Host, hosted: Hosted) -> bool:
    """Load the account (batched with the other accounts connecting now) and build its client; False
    when the account no longer exists."""
    try:
        loaded = await host.loads(hosted.account_id)
    except KeyError:
        return False
    hosted.version = loaded.version
    hosted.status = loaded.status
    hosted.profile = loaded.profile
    hosted.update_mark = None  # a fresh client, a fresh message box
    hosted.session = VaultSession(
        loaded.state, persist=lambda s: _persist(host, hosted, s), entities=loaded.entities
    )
    hosted.client = build_client(
        session=hosted.session,
        api_id=loaded.api_id,
        api_hash=loaded.api_hash,
        device=loaded.device,
        proxy=loaded.proxy,
    )
    hooks.client_created(hosted)
    return True


async def _supervise(host: Host, hosted: Hosted) -> None:
    backoff = 1.0
    while not hosted.lost and not host.stopping:
        try:
            if not await _connect(host, hosted):
                await host.drop(hosted, save=False, release=False)
                return
            if hosted.lost:
                # Let go while connecting (a drop whose cancel this task outlived): close what we opened.
                await _discard_client(hosted)
                return
            if await _authorize(host, hosted) is False or hosted.lost:
                return
            hosted.connected_at = time.monotonic()
            if hosted.authorized and hosted.session is not None and not hosted.session.has_update_state():
                # A fresh login or import: persist the update state at once, so a crash before the
                # first periodic checkpoint cannot lose what arrives from now on; with every channel's
                # too, or a reconnect never catches up a channel it had not heard from yet.
                await _learn_channels(hosted)
                await checkpoint(host, hosted)
            hosted.ready.set()
            host.keep_alive(hosted)
            if hosted.paused_until <= time.monotonic():
                host.consume(hosted)
            backoff = 1.0
            assert hosted.client is not None
            await hosted.client.disconnected
            _unready(host, hosted)
            if hosted.lost or host.stopping:
                return
            if await _handle_update_error(host, hosted) is False:
                return
            log.info("account %s disconnected; reconnecting", hosted.account_id)
            if not await _still_ours(host, hosted):
                return
        except (TimeoutError, OSError, ConnectionError, EOFError) as error:
            # EOFError: Telethon's "server closed the connection" (asyncio.IncompleteReadError).
            _unready(host, hosted)
            log.warning(
                "account %s: network error %s; retrying in %.0f s",
                hosted.account_id,
                type(error).__name__,
                backoff,
            )
        except Unopenable as error:
            await _unopenable(host, hosted, error)
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            _unready(host, hosted)
            outcome = tg_errors.classify(error)
            if isinstance(outcome, tg_errors.AccountLevel):
                await apply_account_level(host, hosted, outcome)
                return
            log.exception("account %s: unexpected error while connecting", hosted.account_id)
        # Every retry starts from a fresh client, never a used one (see _discard_client).
        await _discard_client(hosted)
        # Exponential backoff with jitter; the lease is kept (renewed by the host) while we retry.
        await asyncio.sleep(backoff * random.uniform(0.7, 1.3))
        backoff = min(backoff * 2, 60.0)
        if not await _still_ours(host, hosted):
            return


async def _learn_channels(hosted: Hosted) -> None:
    """Every channel's pts into the client's update state (accounts.telegram.updates.learn_channels)."""
    assert hosted.client is not None
    try:
        await asyncio.wait_for(updates.learn_channels(hosted.client), settings.SESSION_CONNECT_TIMEOUT)
    except Exception as error:
        if not tg_errors.rpc_name(error) or isinstance(tg_errors.classify(error), tg_errors.AccountLevel):
            raise  # a network error reconnects; an account-level one takes its recovery flow
        # Telegram refused the listing (e.g. a flood wait): channels are learnt from their first live
        # message instead, as before; the account is not kept offline for it.
        log.warning(
            "account %s: could not list its channels (%s)", hosted.account_id, tg_errors.rpc_name(error)
        )


def _unready(host: Host, hosted: Hosted) -> None:
    """The connection is gone: take no commands until it is back. A command handed out now would hold
    one of the host's few pool threads while it waits for the connect, and a few disconnected accounts
    would starve every other account of the host; left in its queue, it waits for the reconnect there."""
    hosted.ready.clear()
    host.stop_consuming(hosted)


async def _unopenable(host: Host, hosted: Hosted, error: Unopenable) -> None:
    """No retry can open it: show admins (status, alert, event naming the key id) and let go."""
    log.error(
        "account %s: %s; it needs an admin (master key id %s)",
        hosted.account_id,
        error,
        error.error.key_id,
    )
    account = await db(account_unopenable)(
        account_id=hosted.account_id, what=error.what, error=error.error, host=host.name
    )
    hosted.status = account.status
    await host.drop(hosted, save=False, release=True)


async def _still_ours(host: Host, hosted: Hosted) -> bool:
    """Before any reconnect: is the lease still ours? If not, let go without touching Telegram again."""
    if hosted.lease_certain() or await db(leases.is_current)(holder=host.name, grant=hosted.grant):
        return True
    log.warning("account %s: lease lost while disconnected; not reconnecting", hosted.account_id)
    await host.drop(hosted, save=False, release=True)  # frees a revoked lease; no-op for one moved on
    return False


async def _authorize(host: Host, hosted: Hosted) -> bool | None:
    """For a logged-in account, prove the session still works (and learn who we are)."""
    if hosted.status in LOGIN_STATUSES:
        hosted.authorized = False
        return None
    assert hosted.client is not None
    try:
        # Bounded like the connect: a server that stops answering must not pin the supervisor.
        me = await asyncio.wait_for(profile.get_me(hosted.client), settings.SESSION_CONNECT_TIMEOUT)
    except Exception as error:
        outcome = tg_errors.classify(error)
        if isinstance(outcome, tg_errors.AccountLevel):
            await apply_account_level(host, hosted, outcome)
            return False
        raise
    if await identify(host, hosted, me):
        return False
    hosted.authorized = True
    return None


async def identify(host: Host, hosted: Hosted, me: Me) -> str:
    """Record who the account is on Telegram; returns "". When it is another account's Telegram user it
    is disabled (accounts.identity) and dropped here at once, before it takes a single command: returns
    why."""
    if hosted.profile is not None and hosted.profile.unchanged(me):
        return ""
    hosted.profile = None  # what is stored now is no longer known here
    refused = await db(identity.profile_save)(account_id=hosted.account_id, me=me)
    if refused:
        log.warning("account %s: %s; not hosting it", hosted.account_id, refused)
        await host.drop(hosted, save=False, release=True)  # disabled and revoked: free it once disconnected
    return refused


async def _handle_update_error(host: Host, hosted: Hosted) -> bool | None:
    """Telethon's update loop stops on account-level errors (e.g. the key was revoked)."""
    error = internals.update_loop_error(hosted.client)
    outcome = tg_errors.classify(error) if error else None
    if isinstance(outcome, tg_errors.AccountLevel):
        await apply_account_level(host, hosted, outcome)
        return False
    return None


async def apply_account_level(host: Host, hosted: Hosted, outcome: tg_errors.AccountLevel) -> None:
    """Record the new status (reauth_required, banned, spam_limited) and let go where the flow says."""
    await db(account_transition)(
        account_id=hosted.account_id,
        to=outcome.status,
        reason=outcome.reason,
        detail={"host": host.name, "alert": outcome.alert},
        force=True,
    )
    hosted.status = outcome.status
    if outcome.release_lease:
        await host.drop(hosted, save=False, release=True)


async def checkpoint(host: Host, hosted: Hosted) -> None:
    """Persist update state and new peers, after whatever consumed the updates has stored them."""
    async with hosted.checkpoint_lock:
        await _checkpoint(hosted)
        hosted.checkpointed_at = time.monotonic()


def checkpoint_has_work(hosted: Hosted) -> bool:
    """Would a checkpoint of this account do anything? False for a signed-in account that received
    nothing since its last checkpoint (most of an idle host's accounts): no need to even schedule one."""
    client, session = hosted.client, hosted.session
    if client is None or session is None or not hosted.authorized:
        return True
    return bool(session.pending_entities) or internals.update_mark(client) != hosted.update_mark


async def _checkpoint(hosted: Hosted) -> None:
    client, session = hosted.client, hosted.session
    if client is None or session is None or hosted.lost or not hosted.lease_certain():
        return
    if hosted.authorized:
        mark = internals.update_mark(client)
        if mark == hosted.update_mark and not session.pending_entities:
            return  # nothing arrived since the last checkpoint (see checkpoint_has_work)
        # Snapshot Telethon's update state, let the handlers of every update it covers finish, have
        # the hooks store what they buffered, and only then make that state the persisted one. An
        # account that received nothing since has nothing to wait for, store or write (an idle host's
        # checkpoints cost no database work).
        await internals.save_update_state(client)
        state = session.pending_update_state()
        if session.update_state_changed(state):
            await internals.wait_for_event_handlers(client, timeout=30)
            await hooks.before_checkpoint(hosted)
            session.commit_update_state(state)
        await session.save()
        hosted.update_mark = mark  # only once the state it stands for is written
    else:
        await session.save()
    await _store_entities(hosted, session)


async def _store_entities(hosted: Hosted, session: VaultSession) -> None:
    rows = session.take_pending_entities()
    if rows:
        try:
            await db(sessions.entities_store)(account_id=hosted.account_id, rows=rows)
        except IntegrityError:
            # The account was deleted under us; the next lease renewal drops it.
            log.info("account %s is gone; not storing its peers", hosted.account_id)


async def disconnect(host: Host, hosted: Hosted, *, save: bool) -> None:
    client = hosted.client
    hosted.ready.clear()
    if client is None:
        return
    if save and not hosted.lost:
        # Bounded by the lease: past its deadline another host may connect, so this one must be gone.
        remaining = hosted.lease_deadline - time.monotonic()
        try:
            await asyncio.wait_for(checkpoint(host, hosted), remaining)
        except TimeoutError:
            log.warning("account %s: final checkpoint cut short by the lease deadline", hosted.account_id)
        except Exception:
            log.exception("account %s: final checkpoint failed", hosted.account_id)
    if not save:
        # A lost lease must not write on the way out: Telethon saves the session on disconnect.
        hosted.lost = True
    try:
        await client.disconnect()
    except Exception:
        log.debug("account %s: disconnect raised", hosted.account_id, exc_info=True)
