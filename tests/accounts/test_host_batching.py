"""A host reads what its accounts need in batches, and writes a session only when something changed."""

from __future__ import annotations

import asyncio
import base64
import datetime
import os
from datetime import timedelta

import pytest
from django.utils import timezone
from telethon.tl import types

from accounts import identity, sessions
from accounts.host.batch import Batched
from accounts.host.loading import Unopenable, load_many
from accounts.models import Account, Entity, TelegramSession, session_context
from accounts.sessions import SessionState
from accounts.telegram.records import Me
from accounts.telegram.session import VaultSession
from crm import vault
from tests.conftest import TEST_KEYRING

pytestmark = pytest.mark.django_db(transaction=True)

KEY = os.urandom(256)


def with_session(make_account, *, pts: int = 0, key: bytes | None = None) -> Account:
    account = make_account(status=Account.Status.ACTIVE)
    state = SessionState(
        dc_id=2, server_address="127.0.0.1", port=443, auth_key=key or os.urandom(256), pts=pts
    )
    context = session_context(account_id=account.pk, version=3)
    TelegramSession.objects.create(
        account=account, version=3, blob=vault.seal(state.to_bytes(), context=context)
    )
    return account


def peers(account: Account, count: int, *, first_id: int = 1000) -> None:
    now = timezone.now()
    for n in range(count):
        Entity.objects.create(
            account=account,
            peer_id=first_id + n,
            access_hash=n,
            username=f"peer{n}",
            name=f"Peer {n}",
            seen_at=now - timedelta(minutes=n),  # peer first_id is the most recent
        )


def test_one_call_loads_every_account_s_session_device_and_recent_peers(make_account, settings):
    settings.SESSION_ENTITY_CACHE_SIZE = 3
    busy = with_session(make_account, pts=41)
    quiet = with_session(make_account, pts=7)
    fresh = make_account(status=Account.Status.NEW)  # never connected: no session row yet
    peers(busy, 5)
    peers(quiet, 2, first_id=2000)

    loaded = load_many([busy.pk, quiet.pk, fresh.pk])

    assert loaded[busy.pk].state.pts == 41 and loaded[busy.pk].version == 3
    assert loaded[quiet.pk].state.pts == 7
    assert loaded[fresh.pk].state == SessionState() and loaded[fresh.pk].version == 0
    # Each account's own most recent peers, bounded per account, never another account's.
    assert sorted(row[0] for row in loaded[busy.pk].entities) == [1000, 1001, 1002]
    assert sorted(row[0] for row in loaded[quiet.pk].entities) == [2000, 2001]
    assert loaded[busy.pk].api_hash == "0123456789abcdef" * 2
    assert loaded[busy.pk].device["device_model"] == busy.device_model
    assert loaded[busy.pk].profile == identity.Profile.of(busy)


def test_a_session_that_cannot_be_opened_fails_only_its_own_account(make_account, settings):
    good = with_session(make_account)
    spoiled = with_session(make_account)
    row = TelegramSession.objects.get(account=spoiled)
    context = session_context(account_id=spoiled.pk, version=row.version)
    raw = vault.unseal(bytes(row.blob), context=context)
    settings.SWITCHBOARD_MASTER_KEYS = f"gone:{base64.b64encode(os.urandom(32)).decode()},{TEST_KEYRING}"
    row.blob = vault.seal(raw, context=context)
    row.save(update_fields=["blob"])
    settings.SWITCHBOARD_MASTER_KEYS = TEST_KEYRING
    # A blob sealed for another account (or version) is refused too: the context is authenticated.
    moved = with_session(make_account)
    TelegramSession.objects.filter(account=moved).update(blob=TelegramSession.objects.get(account=good).blob)

    loaded = load_many([good.pk, spoiled.pk, moved.pk])

    assert loaded[good.pk].state.auth_key  # type: ignore[union-attr]
    assert isinstance(loaded[spoiled.pk], Unopenable) and loaded[spoiled.pk].error.key_id == "gone"
    assert isinstance(loaded[moved.pk], Unopenable)
    # What a host keeps per account never shows its secrets in a log line or a traceback.
    shown = repr(loaded[good.pk])
    assert "0123456789abcdef" not in shown and "auth_key" not in shown


def test_a_deleted_account_is_left_out(make_account):
    account = with_session(make_account)
    gone = with_session(make_account)
    gone_id = gone.pk
    gone.delete()
    assert set(load_many([account.pk, gone_id, 10**15])) == {account.pk}


def test_callers_waiting_together_share_one_query_and_each_gets_its_own_answer():
    calls: list[list[int]] = []

    def fetch(ids: list[int]) -> dict[int, object]:
        calls.append(sorted(ids))
        return {i: (ValueError(f"bad {i}") if i == 3 else i * 10) for i in ids if i != 4}

    async def scenario() -> list[object]:
        batched = Batched(fetch)
        return await asyncio.gather(*(batched(i) for i in [1, 2, 3, 4, 2]), return_exceptions=True)

    one, two, three, four, two_again = asyncio.run(scenario())
    assert calls == [[1, 2, 3, 4]]
    assert (one, two, two_again) == (10, 20, 20)
    assert isinstance(three, ValueError) and str(three) == "bad 3"
    assert isinstance(four, KeyError)  # left out: the account is gone


def test_a_failing_batch_fails_its_callers_and_the_next_batch_runs_again():
    calls = []

    def fetch(ids: list[int]) -> dict[int, object]:
        calls.append(ids)
        if len(calls) == 1:
            raise ConnectionError("database restarting")
        return {i: i for i in ids}

    async def scenario() -> tuple[list[object], int]:
        batched = Batched(fetch, size=2)
        first = await asyncio.gather(*(batched(i) for i in [1, 2, 3]), return_exceptions=True)
        return first, await batched(9)

    first, later = asyncio.run(scenario())
    assert [type(r).__name__ for r in first] == ["ConnectionError", "ConnectionError", "int"]
    assert later == 9 and calls == [[1, 2], [3], [9]]


# --- writes only when something changed ----------------------------------------------------------------


def vault_session(state: SessionState) -> tuple[VaultSession, list[SessionState]]:
    written: list[SessionState] = []
    return VaultSession(state, persist=written.append), written


def test_a_save_with_nothing_new_writes_nothing_and_a_new_key_or_committed_state_is_written():
    state = SessionState(
        dc_id=2, server_address="127.0.0.1", port=443, auth_key=KEY, pts=5, date=1_700_000_000
    )

    async def scenario() -> list[SessionState]:
        session, written = vault_session(state)
        await session.save()  # Telethon's keepalive save: nothing new
        pending = session.pending_update_state()
        assert not session.update_state_changed(pending)
        await session.save()
        # An update arrived: Telethon's state moves; the host commits it once it is stored.
        session.set_update_state(
            0, types.updates.State(pts=6, qts=0, date=pending[0].date, seq=0, unread_count=0)
        )
        moved = session.pending_update_state()
        assert session.update_state_changed(moved)
        await session.save()  # not committed yet: the stored state never runs ahead of the inbox
        session.commit_update_state(moved)
        await session.save()
        await session.save()
        session.auth_key = None  # logged out: the key is gone, and that is written
        await session.save()
        return written

    written = asyncio.run(scenario())
    assert [(s.pts, s.auth_key is not None) for s in written] == [(6, True), (6, False)]


def test_only_the_date_moving_is_no_change_but_a_new_channel_or_qts_is():
    state = SessionState(auth_key=KEY, pts=5, qts=1, seq=2, date=1_700_000_000, channels={"77": 9})
    session, _ = vault_session(state)
    pending = session.pending_update_state()
    later = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    same = {
        k: types.updates.State(pts=v.pts, qts=v.qts, date=later, seq=v.seq, unread_count=0)
        for k, v in pending.items()
    }
    assert not session.update_state_changed(same)
    assert session.update_state_changed({**same, 88: types.updates.State(1, 0, later, 0, 0)})
    assert session.update_state_changed(
        {**same, 0: types.updates.State(pts=5, qts=2, date=later, seq=2, unread_count=0)}
    )
    assert session.update_state_changed(
        {**same, 77: types.updates.State(pts=10, qts=0, date=later, seq=0, unread_count=0)}
    )
    assert session.update_state_changed({0: same[0]})  # a channel left


def test_peers_are_written_when_new_or_changed_never_again_for_each_sighting():
    known = (501, 11, "ann", "", "Ann")
    session = VaultSession(SessionState(auth_key=KEY), persist=lambda s: None, entities=[known])

    def user(user_id: int, access_hash: int, username: str | None, first_name: str) -> types.User:
        return types.User(id=user_id, access_hash=access_hash, username=username, first_name=first_name)

    session.process_entities(types.contacts.ResolvedPeer(None, [user(501, 11, "ann", "Ann")], []))
    assert session.take_pending_entities() == []  # as loaded from the table: nothing to write
    session.process_entities(types.contacts.ResolvedPeer(None, [user(501, 11, "ann_new", "Ann")], []))
    session.process_entities(
        types.contacts.ResolvedPeer(None, [user(502, 12, None, "B\x00" + "o" * 300)], [])
    )
    rows = sorted(session.take_pending_entities())
    assert rows == [(501, 11, "ann_new", "", "Ann"), (502, 12, "", "", ("B\x00" + "o" * 300)[:255])]
    session.process_entities(
        types.contacts.ResolvedPeer(None, [user(502, 12, None, "B\x00" + "o" * 300)], [])
    )
    assert session.take_pending_entities() == []


# --- identify writes only what changed -----------------------------------------------------------------


def me(**changes: object) -> Me:
    values: dict[str, object] = {
        "telegram_id": 42,
        "username": "ann",
        "first_name": "Ann",
        "last_name": "",
        "phone": "999662001",
    }
    return Me(**{**values, **changes})  # type: ignore[arg-type]


STORED = identity.Profile(
    telegram_id=42, username="ann", first_name="Ann", last_name="", phone="999662001", status_reason=""
)


@pytest.mark.parametrize(
    ("profile", "seen", "unchanged"),
    [
        (STORED, me(), True),
        (STORED, me(phone="999662999"), True),  # a number that changed on Telegram is not ours to follow
        (STORED, me(username="ann2"), False),
        (STORED, me(first_name="Ann\x00"), False),
        (STORED, me(last_name="Lee"), False),
        (STORED, me(telegram_id=43), False),  # another user behind the key: the duplicate check must run
        (STORED, me(telegram_id=2**63 - 1), False),
        (identity.Profile(**{**STORED.__dict__, "telegram_id": None}), me(), False),
        (identity.Profile(**{**STORED.__dict__, "status_reason": identity.IMPORT_VALIDATING}), me(), False),
        (identity.Profile(**{**STORED.__dict__, "phone": "import-ab12"}), me(), False),
        (identity.Profile(**{**STORED.__dict__, "phone": "import-ab12"}), me(phone=""), True),
    ],
)
def test_identify_skips_the_database_only_for_a_profile_it_would_not_change(profile, seen, unchanged):
    assert profile.unchanged(seen) is unchanged


def test_what_identify_would_store_matches_what_profile_save_stores(make_account):
    account = with_session(make_account)
    seen = me(telegram_id=7_000_000 + account.pk, phone="")
    assert identity.profile_save(account_id=account.pk, me=seen) == ""
    account.refresh_from_db()
    assert identity.Profile.of(account).unchanged(seen)
    assert not identity.Profile.of(account).unchanged(
        me(telegram_id=seen.telegram_id, username="other", phone="")
    )


def test_the_sessions_of_many_accounts_load_in_one_query(make_account, django_assert_max_num_queries):
    accounts = [with_session(make_account, pts=n) for n in range(20)]
    with django_assert_max_num_queries(1):
        loaded = sessions.sessions_load(account_ids=[a.pk for a in accounts])
    assert [loaded[a.pk][0].pts for a in accounts] == list(range(20))  # type: ignore[index]
