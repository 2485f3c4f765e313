"""Writing messages: send, sendMedia, forward, edit, delete, read, react, typing; and the channel
variants of delete and read."""

from __future__ import annotations

import time

from telethon.tl import functions, types

from tgsim import channelops, chatops, groupops, render
from tgsim.access import input_channel, input_peer, input_user
from tgsim.handlers.common import me
from tgsim.handlers.upload import media_from_input
from tgsim.model import User
from tgsim.rpc import Call, bad_request, handles
from tgsim.updates import wrap

MAX_TEXT = 4096
MAX_CAPTION = 1024


def _reply_id(reply_to: object) -> int | None:
    if isinstance(reply_to, types.InputReplyToMessage):
        return reply_to.reply_to_msg_id
    return None


def _deliver(
    call: Call,
    user: User,
    peer_id: int,
    text: str,
    random_id: int,
    *,
    media: int | None = None,
    reply_to: int | None = None,
    fwd: tuple[int, int] | None = None,
    entities: tuple = (),
) -> tuple[list, list[int]]:
    """Send one message and return (updates for the caller's result, peer ids they mention).

    random_id dedupe: Telegram treats a repeated random_id from the same sender as the same message, so a
    retried request returns the original message and nothing is delivered twice.
    """
    world = call.world
    if peer_id in world.channels:
        channel = world.channels[peer_id]
        seen = channel.random_ids.get((user.id, random_id))
        if seen is None or seen[0] not in channel.messages:
            channelops.check_can_post(channel, user.id)
            msg, pts = channelops.post(
                world,
                channel,
                user.id,
                text,
                media=media,
                reply_to=reply_to,
                fwd=fwd,
                entities=entities,
                exclude=call.session,
            )
            channel.random_ids[(user.id, random_id)] = (msg.id, pts)
            seen = (msg.id, pts)
        msg = channel.messages[seen[0]]
        update = types.UpdateNewChannelMessage(
            message=render.message(world, user.id, msg, channel.id), pts=seen[1], pts_count=1
        )
        return [types.UpdateMessageID(id=msg.id, random_id=random_id), update], render.message_peers(
            msg, channel.id
        )
    seen = user.sent_random.get(random_id)
    if seen is None or seen[0] not in user.box:
        if peer_id in world.chats:
            msg, pts = groupops.post(
                world,
                world.chats[peer_id],
                user.id,
                text,
                media=media,
                reply_to=reply_to,
                fwd=fwd,
                entities=entities,
                exclude=call.session,
            )
        else:
            chatops.check_can_message(world, user, world.users[peer_id])
            msg, pts = chatops.send(
                world,
                user.id,
                peer_id,
                text,
                media=media,
                reply_to=reply_to,
                fwd=fwd,
                entities=entities,
                exclude=call.session,
            )
        user.sent_random[random_id] = (msg.id, pts, 1)
        seen = (msg.id, pts, 1)
    msg = user.box[seen[0]]
    update = types.UpdateNewMessage(message=render.message(world, user.id, msg), pts=seen[1], pts_count=1)
    return [types.UpdateMessageID(id=msg.id, random_id=random_id), update], render.message_peers(msg)


def _entities(call: Call, user: User, given: list | None) -> tuple:
    """Entities as receivers get them. A mention by name arrives as inputMessageEntityMentionName (the
    sender's InputUser, with its access_hash); Telegram stores and delivers messageEntityMentionName with the
    plain user id. A user the sender cannot address is refused (USER_ID_INVALID)."""
    found = []
    for entity in given or ():
        if isinstance(entity, types.InputMessageEntityMentionName):
            target = input_user(call.world, user.id, entity.user_id)
            entity = types.MessageEntityMentionName(entity.offset, entity.length, target.id)
        found.append(entity)
    return tuple(found)


def _check_text(text: str, limit: int, *, allow_empty: bool = False) -> str:
    text = text or ""
    if not text.strip() and not allow_empty:
        raise bad_request("MESSAGE_EMPTY")
    if len(text) > limit:
        raise bad_request("MESSAGE_TOO_LONG" if limit == MAX_TEXT else "MEDIA_CAPTION_TOO_LONG")
    return text


@handles(functions.messages.SendMessageRequest)
async def send_message(call: Call, req: functions.messages.SendMessageRequest):
    """messages.sendMessage. Private chats answer updateShortSentMessage (the client builds the message
    itself), channels a full Updates. Errors: MESSAGE_EMPTY, MESSAGE_TOO_LONG, PEER_ID_INVALID for a peer
    the caller can't address (e.g. someone else's access_hash), INPUT_USER_DEACTIVATED, USER_IS_BLOCKED,
    USER_PRIVACY_RESTRICTED, PEER_FLOOD, CHAT_WRITE_FORBIDDEN. Entities (bold, text URLs, mentions) reach
    every receiver as the sender gave them."""
    user = me(call)
    text = _check_text(req.message, MAX_TEXT)
    peer_id = input_peer(call.world, user.id, req.peer)
    updates, peers = _deliver(
        call,
        user,
        peer_id,
        text,
        req.random_id,
        reply_to=_reply_id(req.reply_to),
        entities=_entities(call, user, req.entities),
    )
    new = updates[1]
    if isinstance(new, types.UpdateNewMessage):
        return types.UpdateShortSentMessage(
            id=new.message.id, pts=new.pts, pts_count=new.pts_count, date=new.message.date, out=True
        )
    return wrap(call.world, user.id, updates, peers)


@handles(functions.messages.SendMediaRequest)
async def send_media(call: Call, req: functions.messages.SendMediaRequest) -> types.Updates:
    """messages.sendMedia with an uploaded or existing photo/document (captions up to 1024 chars)."""
    user = me(call)
    text = _check_text(req.message, MAX_CAPTION, allow_empty=True)
    peer_id = input_peer(call.world, user.id, req.peer)
    seen = user.sent_random.get(req.random_id) if peer_id not in call.world.channels else None
    media = None if seen else media_from_input(call, user.id, req.media)
    updates, peers = _deliver(
        call,
        user,
        peer_id,
        text,
        req.random_id,
        media=media,
        reply_to=_reply_id(req.reply_to),
        entities=_entities(call, user, req.entities),
    )
    return wrap(call.world, user.id, updates, peers)


@handles(functions.messages.ForwardMessagesRequest)
async def forward_messages(call: Call, req: functions.messages.ForwardMessagesRequest) -> types.Updates:
    """messages.forwardMessages: copies keep text and media and carry a forward header naming the
    original author (unless drop_author); MESSAGE_ID_INVALID if none of the ids exist."""
    user = me(call)
    world = call.world
    from_peer = input_peer(world, user.id, req.from_peer)
    to_peer = input_peer(world, user.id, req.to_peer)
    if len(req.id) != len(req.random_id):
        raise bad_request("RANDOM_ID_INVALID")
    source = world.channels[from_peer].messages if from_peer in world.channels else user.box
    all_updates, peers = [], []
    for msg_id, random_id in zip(req.id, req.random_id, strict=True):
        msg = source.get(msg_id)
        if msg is None or (from_peer not in world.channels and msg.peer != from_peer):
            continue
        original = msg.fwd or (
            from_peer if from_peer in world.channels and world.channels[from_peer].broadcast else msg.from_id,
            msg.date,
        )
        updates, mentioned = _deliver(
            call,
            user,
            to_peer,
            msg.text,
            random_id,
            media=msg.media,
            fwd=None if req.drop_author else original,
            entities=getattr(msg, "entities", ()),
        )
        all_updates += updates
        peers += mentioned
    if not all_updates:
        raise bad_request("MESSAGE_ID_INVALID")
    return wrap(world, user.id, all_updates, peers)


@handles(functions.messages.EditMessageRequest)
async def edit_message(call: Call, req: functions.messages.EditMessageRequest) -> types.Updates:
    """messages.editMessage: MESSAGE_ID_INVALID, MESSAGE_AUTHOR_REQUIRED, MESSAGE_NOT_MODIFIED; the other
    side gets updateEditMessage (private) / updateEditChannelMessage (channels)."""
    user = me(call)
    world = call.world
    peer_id = input_peer(world, user.id, req.peer)
    if req.message is None:
        raise bad_request("MESSAGE_NOT_MODIFIED")
    text = _check_text(req.message, MAX_TEXT)
    if peer_id in world.channels:
        return channelops.edit(world, world.channels[peer_id], user.id, req.id, text, exclude=call.session)
    msg = user.box.get(req.id)
    if msg is None or msg.peer != peer_id:
        raise bad_request("MESSAGE_ID_INVALID")
    return chatops.edit(world, user.id, req.id, text, exclude=call.session)


@handles(functions.messages.DeleteMessagesRequest)
async def delete_messages(call: Call, req: functions.messages.DeleteMessagesRequest):
    """messages.deleteMessages (private chats): with revoke the other side loses its copies too."""
    user = me(call)
    return chatops.delete(call.world, user.id, list(req.id), bool(req.revoke), exclude=call.session)


@handles(functions.channels.DeleteMessagesRequest)
async def delete_channel_messages(call: Call, req: functions.channels.DeleteMessagesRequest):
    """channels.deleteMessages: own messages, or anyone's for admins (MESSAGE_DELETE_FORBIDDEN)."""
    user = me(call)
    channel = input_channel(call.world, user.id, req.channel, need_member=True)
    return channelops.delete(call.world, channel, user.id, list(req.id), exclude=call.session)


@handles(functions.messages.ReadHistoryRequest)
async def read_history(call: Call, req: functions.messages.ReadHistoryRequest):
    """messages.readHistory: the sender sees updateReadHistoryOutbox with its own message ids."""
    user = me(call)
    world = call.world
    peer_id = input_peer(world, user.id, req.peer)
    if peer_id in world.channels:
        channelops.read(world, world.channels[peer_id], user.id, req.max_id, exclude=call.session)
        return types.messages.AffectedMessages(pts=user.pts, pts_count=0)
    return chatops.read(world, user.id, peer_id, req.max_id, exclude=call.session)


@handles(functions.channels.ReadHistoryRequest)
async def read_channel_history(call: Call, req: functions.channels.ReadHistoryRequest) -> bool:
    """channels.readHistory: members move their read marker; a non-member previewing a public channel
    gets True with nothing stored (as when you scroll a channel you haven't joined); a private one it
    isn't in is CHANNEL_PRIVATE."""
    user = me(call)
    channel = input_channel(call.world, user.id, req.channel)
    if user.id not in channel.members:
        return True
    return channelops.read(call.world, channel, user.id, req.max_id, exclude=call.session)


@handles(functions.messages.SendReactionRequest)
async def send_reaction(call: Call, req: functions.messages.SendReactionRequest) -> types.Updates:
    """messages.sendReaction: one emoji per user per message (an empty list removes it);
    REACTION_INVALID for custom emoji or paid reactions, which tgsim does not model."""
    user = me(call)
    world = call.world
    peer_id = input_peer(world, user.id, req.peer)
    reactions = req.reaction or []
    if len(reactions) > 1 or any(not isinstance(r, types.ReactionEmoji) for r in reactions):
        raise bad_request("REACTION_INVALID")
    emoticon = reactions[0].emoticon if reactions else None
    if peer_id not in world.channels:
        msg = user.box.get(req.msg_id)
        if msg is None or msg.peer != peer_id:
            raise bad_request("MESSAGE_ID_INVALID")
        return chatops.react(world, user.id, req.msg_id, emoticon, exclude=call.session)
    channel = world.channels[peer_id]
    msg = channel.messages.get(req.msg_id)
    if msg is None:
        raise bad_request("MESSAGE_ID_INVALID")
    if emoticon:
        msg.reactions[user.id] = emoticon
    else:
        msg.reactions.pop(user.id, None)
    update = types.UpdateMessageReactions(
        peer=types.PeerChannel(channel.id),
        msg_id=msg.id,
        reactions=render.reactions(msg) or types.MessageReactions(results=[]),
    )
    return wrap(world, user.id, [update], [channel.id])


@handles(functions.messages.SetTypingRequest)
async def set_typing(call: Call, req: functions.messages.SetTypingRequest) -> bool:
    """messages.setTyping: the other side of a private chat sees updateUserTyping."""
    user = me(call)
    world = call.world
    peer_id = input_peer(world, user.id, req.peer)
    if peer_id in world.users and peer_id != user.id:
        update = types.UpdateShort(
            update=types.UpdateUserTyping(user_id=user.id, action=req.action), date=render.ts(time.time())
        )
        world.net.push(peer_id, update)
    return True


@handles(functions.messages.DeleteHistoryRequest)
async def delete_history(call: Call, req: functions.messages.DeleteHistoryRequest):
    """messages.deleteHistory (private chats): deletes the caller's copies up to max_id (0 = all), the
    other side's too with revoke; the dialog disappears unless just_clear. One call does it all, so
    offset is 0."""
    user = me(call)
    world = call.world
    peer_id = input_peer(world, user.id, req.peer)
    if peer_id in world.channels:
        raise bad_request("PEER_ID_INVALID")
    ids = [i for i in user.history.get(peer_id, []) if not req.max_id or i <= req.max_id]
    affected = chatops.delete(world, user.id, ids, bool(req.revoke), exclude=call.session)
    if not req.just_clear and not user.history.get(peer_id):
        user.dialogs.pop(peer_id, None)
        user.history.pop(peer_id, None)
    return types.messages.AffectedHistory(pts=affected.pts, pts_count=affected.pts_count, offset=0)


@handles(functions.messages.ReadMentionsRequest, functions.messages.ReadReactionsRequest)
async def read_mentions(call: Call, req) -> types.messages.AffectedHistory:
    """messages.readMentions / readReactions: tgsim tracks no unread mentions or reactions, so there is
    nothing to clear (pts_count 0)."""
    user = me(call)
    input_peer(call.world, user.id, req.peer)
    return types.messages.AffectedHistory(pts=user.pts, pts_count=0, offset=0)
