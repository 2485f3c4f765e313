"""Saving and loading a world. Pickle keeps it simple and fast: ~15k users with message boxes round-trip
in well under a second. Only the persistent state is written (World.__getstate__ drops the server link,
persona tasks, pending logins and half-finished uploads). Files are only ever our own, written by save()."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tgsim.world import World

FORMAT = 1


def save(world: World, path: str | os.PathLike[str]) -> dict:
    """Write atomically (temp file + rename), so a crash never leaves half a world behind."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        pickle.dump({"format": FORMAT, "world": world}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, target)
    return {"path": str(target), "bytes": target.stat().st_size, **world.stats()}


def load(path: str | os.PathLike[str]) -> World:
    with open(path, "rb") as fh:
        data = pickle.load(fh)  # noqa: S301 - our own save files only
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a tgsim world file (format {FORMAT})")
    return data["world"]
