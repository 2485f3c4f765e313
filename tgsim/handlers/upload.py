"""upload.*: chunked uploads into temporary parts, media creation from them, and downloads."""

from __future__ import annotations

import os
import time

from telethon.tl import functions, types

from tgsim import render
from tgsim.access import media_hash
from tgsim.handlers.common import me
from tgsim.model import Media
from tgsim.rpc import Call, bad_request, handles

PART_MAX = 512 * 1024
DOWNLOAD_LIMIT_MAX = 1024 * 1024


@handles(functions.upload.SaveFilePartRequest, functions.upload.SaveBigFilePartRequest)
async def save_file_part(call: Call, req) -> bool:
    """upload.saveFilePart / saveBigFilePart: parts of at most 512 KB, kept per (user, file_id) until a
    sendMedia/uploadMedia references the file (FILE_PART_TOO_BIG / FILE_PART_INVALID otherwise)."""
    user = me(call)
    if len(req.bytes) > PART_MAX:
        raise bad_request("FILE_PART_TOO_BIG")
    if req.file_part < 0 or req.file_part > 8000:
        raise bad_request("FILE_PART_INVALID")
    call.world.uploads.setdefault((user.id, req.file_id), {})[req.file_part] = bytes(req.bytes)
    return True


def _assemble(call: Call, user_id: int, file: object) -> bytes:
    """Join an InputFile/InputFileBig's parts; a gap is 400 FILE_PART_<n>_MISSING, as Telegram says."""
    if not isinstance(file, types.InputFile | types.InputFileBig):
        raise bad_request("FILE_PARTS_INVALID")
    parts = call.world.uploads.get((user_id, file.id))
    if not parts:
        raise bad_request("FILE_PART_0_MISSING")
    for n in range(file.parts):
        if n not in parts:
            raise bad_request(f"FILE_PART_{n}_MISSING")
    del call.world.uploads[(user_id, file.id)]
    return b"".join(parts[n] for n in range(file.parts))


def _new_media(call: Call, user_id: int, kind: str, data: bytes, **extra) -> int:
    world = call.world
    media = Media(
        id=world._new_id(),
        kind=kind,
        data=data,
        date=int(time.time()),
        owner=user_id,
        file_reference=os.urandom(8),
        **extra,
    )
    world.media[media.id] = media
    return media.id


def _existing(call: Call, ref: object) -> int:
    """InputPhoto/InputDocument of media already on the server (forwarding, re-sending)."""
    world = call.world
    if not isinstance(ref, types.InputPhoto | types.InputDocument):
        raise bad_request("MEDIA_INVALID")
    if ref.id not in world.media or ref.access_hash != media_hash(world.secret, ref.id):
        raise bad_request("MEDIA_INVALID")
    return ref.id


def media_from_input(call: Call, user_id: int, media: object) -> int:
    """InputMedia -> id in World.media (uploads are consumed)."""
    if isinstance(media, types.InputMediaUploadedPhoto):
        return _new_media(
            call,
            user_id,
            "photo",
            _assemble(call, user_id, media.file),
            mime_type="image/jpeg",
            file_name=media.file.name,
        )
    if isinstance(media, types.InputMediaUploadedDocument):
        data = _assemble(call, user_id, media.file)
        names = [a.file_name for a in media.attributes if isinstance(a, types.DocumentAttributeFilename)]
        return _new_media(
            call,
            user_id,
            "document",
            data,
            mime_type=media.mime_type or "application/octet-stream",
            file_name=names[0] if names else media.file.name,
            attributes=list(media.attributes),
        )
    if isinstance(media, types.InputMediaPhoto | types.InputMediaDocument):
        return _existing(call, media.id)
    raise bad_request("MEDIA_INVALID")


@handles(functions.messages.UploadMediaRequest)
async def upload_media(call: Call, req: functions.messages.UploadMediaRequest):
    """messages.uploadMedia turns an upload into a photo/document without sending it (used for albums)."""
    user = me(call)
    return render.media(call.world, media_from_input(call, user.id, req.media))


@handles(functions.upload.GetFileRequest)
async def get_file(call: Call, req: functions.upload.GetFileRequest) -> types.upload.File:
    """upload.getFile by InputPhotoFileLocation / InputDocumentFileLocation: a wrong access_hash or
    unknown id is 400 LOCATION_INVALID, a stale file_reference FILE_REFERENCE_EXPIRED, a limit over 1 MB
    LIMIT_INVALID and an offset not on a 1 KB boundary OFFSET_INVALID."""
    me(call)
    world = call.world
    loc = req.location
    if not isinstance(loc, types.InputPhotoFileLocation | types.InputDocumentFileLocation):
        raise bad_request("LOCATION_INVALID")
    media = world.media.get(loc.id)
    if media is None or loc.access_hash != media_hash(world.secret, media.id):
        raise bad_request("LOCATION_INVALID")
    if loc.file_reference != media.file_reference:
        raise bad_request("FILE_REFERENCE_EXPIRED")
    if req.limit <= 0 or req.limit > DOWNLOAD_LIMIT_MAX:
        raise bad_request("LIMIT_INVALID")
    if req.offset < 0 or req.offset % 1024:
        raise bad_request("OFFSET_INVALID")
    kind = types.storage.FileJpeg() if media.kind == "photo" else types.storage.FileUnknown()
    return types.upload.File(
        type=kind, mtime=media.date, bytes=media.data[req.offset : req.offset + req.limit]
    )
