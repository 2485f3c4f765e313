"""Profiles, usernames, contacts and the resolveUsername budget."""

from __future__ import annotations

import pytest
from telethon import errors
from telethon.tl import functions, types

from tests.tgsim.worldkit import new_phone, user

pytestmark = pytest.mark.asyncio


async def test_profile_and_username_changes(wsim, login):
    world = wsim.world
    me = user(world, "profile_pam")
    user(world, "taken_name")
    client = await login(world.users[me].phone)
    await client(functions.account.UpdateProfileRequest(first_name="Pamela", about="Sales lead"))
    full = await client(functions.users.GetFullUserRequest(types.InputUserSelf()))
    assert full.full_user.about == "Sales lead" and full.users[0].first_name == "Pamela"
    with pytest.raises(errors.UsernameOccupiedError):
        await client(functions.account.UpdateUsernameRequest("taken_name"))
    with pytest.raises(errors.UsernameInvalidError):
        await client(functions.account.UpdateUsernameRequest("1bad"))
    with pytest.raises(errors.UsernameNotModifiedError):
        await client(functions.account.UpdateUsernameRequest("profile_pam"))
    assert (await client(functions.account.UpdateUsernameRequest("pam_new"))).username == "pam_new"
    assert world.user_by_username("pam_new")["id"] == me and world.user_by_username("profile_pam") is None
    with pytest.raises(errors.FirstNameInvalidError):
        await client(functions.account.UpdateProfileRequest(first_name="  "))


async def test_resolve_username_errors_and_daily_budget(wsim, login):
    world = wsim.world
    me = user(world, "resolver_rita")
    user(world, "findable_fred")
    client = await login(world.users[me].phone)
    with pytest.raises(errors.UsernameNotOccupiedError):
        await client(functions.contacts.ResolveUsernameRequest("nobody_here"))
    with pytest.raises(errors.UsernameInvalidError):
        await client(functions.contacts.ResolveUsernameRequest("a!"))
    wsim.limits.enabled = True
    wsim.limits.bursts = {}
    wsim.limits.resolve_username_per_day = 3
    for _ in range(3):
        await client(functions.contacts.ResolveUsernameRequest("findable_fred"))
    with pytest.raises(errors.FloodWaitError) as caught:
        await client(functions.contacts.ResolveUsernameRequest("findable_fred"))
    assert 80_000 < caught.value.seconds <= 86_400


async def test_import_contacts_shows_phone_and_name(wsim, login):
    world = wsim.world
    me = user(world, "importer_ivy")
    friend_phone = new_phone()
    friend = world.create_user(friend_phone, "Frank")
    client = await login(world.users[me].phone)
    result = await client(
        functions.contacts.ImportContactsRequest(
            [
                types.InputPhoneContact(client_id=7, phone=friend_phone, first_name="Franky", last_name=""),
                types.InputPhoneContact(client_id=8, phone="15550000000", first_name="Nobody", last_name=""),
            ]
        )
    )
    assert [(c.user_id, c.client_id) for c in result.imported] == [(friend, 7)]
    assert result.users[0].phone == friend_phone and result.users[0].contact
    contacts = await client(functions.contacts.GetContactsRequest(hash=0))
    assert [c.user_id for c in contacts.contacts] == [friend]


async def test_contacts_search_by_prefix(wsim, login):
    world = wsim.world
    me = user(world, "searcher_sid")
    friend = user(world, "marketing_mia")
    stranger = user(world, "marketing_max")
    world.users[me].contacts[friend] = "Mia"
    client = await login(world.users[me].phone)
    found = await client(functions.contacts.SearchRequest(q="market", limit=10))
    assert [p.user_id for p in found.my_results] == [friend]
    assert [p.user_id for p in found.results] == [stranger]
