"""folders.*: peer folders, which Telegram uses only for the chat archive (folder 1)."""

from __future__ import annotations

from telethon.tl import functions, types

from tgsim import dialogs
from tgsim.access import input_peer
from tgsim.handlers.common import me
from tgsim.rpc import Call, bad_request, handles
from tgsim.updates import bump_user, push_user_event, user_update, wrap

ARCHIVE = 1


@handles(functions.folders.EditPeerFoldersRequest)
async def edit_peer_folders(call: Call, req: functions.folders.EditPeerFoldersRequest) -> types.Updates:
    """folders.editPeerFolders: archive chats (folder 1) or bring them back (folder 0); no other peer folder
    exists (FOLDER_ID_INVALID). The move is one event in the account's pts sequence: the answer carries
    updateFolderPeers, and the account's other sessions get it pushed (or through getDifference)."""
    user = me(call)
    world = call.world
    moves = []
    for item in req.folder_peers:
        if item.folder_id not in (0, ARCHIVE):
            raise bad_request("FOLDER_ID_INVALID")
        moves.append((input_peer(world, user.id, item.peer), item.folder_id))
    for peer_id, folder_id in moves:
        dialogs.set_folder(world, user.id, peer_id, folder_id)
    bump_user(world, user.id, "folder", moves)
    event = user.events[-1]
    push_user_event(world, user.id, event, exclude=call.session)
    return wrap(world, user.id, [user_update(world, user.id, event)], [p for p, _ in moves])
