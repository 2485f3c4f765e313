"""contacts.*: username resolution (with Telegram's daily budget), contact lists, imports, blocking."""

from __future__ import annotations

import time

from telethon.tl import functions, types

from tgsim import render
from tgsim.access import input_user
from tgsim.handlers.common import me
from tgsim.rpc import Call, bad_request, flood_wait, handles
from tgsim.world import normalize_phone, valid_username

DAY = 86_400


@handles(functions.contacts.ResolveUsernameRequest)
async def resolve_username(call: Call, req: functions.contacts.ResolveUsernameRequest):
    """contacts.resolveUsername: USERNAME_INVALID for a malformed name, USERNAME_NOT_OCCUPIED for a free
    one. Telegram also caps resolutions per account per day (about 200); past it, FLOOD_WAIT until the
    day rolls over."""
    user = me(call)
    world = call.world
    limits = world.net.limits
    now = int(time.time())
    if limits is not None and limits.enabled:
        user.resolves = [d for d in user.resolves if d > now - DAY]
        if len(user.resolves) >= limits.resolve_username_per_day:
            raise flood_wait(user.resolves[0] + DAY - now)
        user.resolves.append(now)
    username = (req.username or "").lstrip("@")
    if not valid_username(username):
        raise bad_request("USERNAME_INVALID")
    target = world.usernames.get(username.lower())
    if target is None or (target in world.users and world.users[target].deleted):
        raise bad_request("USERNAME_NOT_OCCUPIED")
    users, chats = render.entities(world, user.id, [target])
    return types.contacts.ResolvedPeer(peer=render.peer(world, target), chats=chats, users=users)


@handles(functions.contacts.ResolvePhoneRequest)
async def resolve_phone(call: Call, req: functions.contacts.ResolvePhoneRequest):
    """contacts.resolvePhone: PHONE_NOT_OCCUPIED for numbers without an account."""
    user = me(call)
    target = call.world.phones.get(normalize_phone(req.phone))
    if target is None or call.world.users[target].deleted:
        raise bad_request("PHONE_NOT_OCCUPIED")
    users, chats = render.entities(call.world, user.id, [target])
    return types.contacts.ResolvedPeer(peer=types.PeerUser(target), chats=chats, users=users)


@handles(functions.contacts.GetContactsRequest)
async def get_contacts(call: Call, req: functions.contacts.GetContactsRequest) -> types.contacts.Contacts:
    """contacts.getContacts: the saved contacts, with `mutual` when they saved the caller too."""
    user = me(call)
    world = call.world
    contacts = [
        types.Contact(user_id=uid, mutual=user.id in world.users[uid].contacts) for uid in user.contacts
    ]
    users, _ = render.entities(world, user.id, list(user.contacts))
    return types.contacts.Contacts(contacts=contacts, saved_count=0, users=users)


@handles(functions.contacts.ImportContactsRequest)
async def import_contacts(call: Call, req: functions.contacts.ImportContactsRequest):
    """contacts.importContacts: phones with an account become contacts (under the given name); the rest
    are simply not imported."""
    user = me(call)
    world = call.world
    imported = []
    for contact in req.contacts:
        uid = world.phones.get(normalize_phone(contact.phone))
        if uid is None or uid == user.id or world.users[uid].deleted:
            continue
        name = f"{contact.first_name} {contact.last_name}".strip()
        user.contacts[uid] = contact.first_name or name
        imported.append(types.ImportedContact(user_id=uid, client_id=contact.client_id))
    users, _ = render.entities(world, user.id, [c.user_id for c in imported])
    return types.contacts.ImportedContacts(
        imported=imported, popular_invites=[], retry_contacts=[], users=users
    )


@handles(functions.contacts.AddContactRequest)
async def add_contact(call: Call, req: functions.contacts.AddContactRequest) -> types.Updates:
    """contacts.addContact: saves a user the caller can address (its phone becomes visible)."""
    user = me(call)
    target = input_user(call.world, user.id, req.id)
    user.contacts[target.id] = req.first_name or target.first_name
    users, _ = render.entities(call.world, user.id, [target.id])
    return types.Updates(updates=[], users=users, chats=[], date=render.ts(time.time()), seq=0)


@handles(functions.contacts.DeleteContactsRequest)
async def delete_contacts(call: Call, req: functions.contacts.DeleteContactsRequest) -> types.Updates:
    """contacts.deleteContacts: removes them from the contact list."""
    user = me(call)
    ids = [input_user(call.world, user.id, i).id for i in req.id]
    for uid in ids:
        user.contacts.pop(uid, None)
    users, _ = render.entities(call.world, user.id, ids)
    return types.Updates(updates=[], users=users, chats=[], date=render.ts(time.time()), seq=0)


@handles(functions.contacts.BlockRequest, functions.contacts.UnblockRequest)
async def block(call: Call, req) -> bool:
    """contacts.block / unblock: a blocked user's DMs fail with USER_IS_BLOCKED."""
    user = me(call)
    from tgsim.access import input_peer

    target = input_peer(call.world, user.id, req.id)
    if isinstance(req, functions.contacts.BlockRequest):
        user.blocked.add(target)
    else:
        user.blocked.discard(target)
    return True


@handles(functions.contacts.SearchRequest)
async def search(call: Call, req: functions.contacts.SearchRequest) -> types.contacts.Found:
    """contacts.search: contacts whose name or username starts with q (my_results), then public users and
    channels by username prefix (results); an empty query is QUERY_TOO_SHORT."""
    user = me(call)
    world = call.world
    q = (req.q or "").strip().lstrip("@").casefold()
    if not q:
        raise bad_request("QUERY_TOO_SHORT")
    limit = max(1, min(req.limit or 50, 100))

    def named(uid: int) -> bool:
        u = world.users[uid]
        words = f"{u.first_name} {u.last_name}".casefold().split()
        return any(w.startswith(q) for w in words) or (u.username or "").casefold().startswith(q)

    mine = [uid for uid in user.contacts if named(uid)][:limit]
    public = [
        pid
        for name, pid in world.usernames.items()
        if name.startswith(q) and pid not in user.contacts and pid != user.id
    ][:limit]
    users, chats = render.entities(world, user.id, mine + public)
    return types.contacts.Found(
        my_results=[render.peer(world, p) for p in mine],
        results=[render.peer(world, p) for p in public],
        chats=chats,
        users=users,
    )
