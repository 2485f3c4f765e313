from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from telethon import errors

from accounts import telegram
from accounts.telegram.errors import is_flood_wait, needs_password

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_and_its_records_load_without_telethon():
    script = (
        "import sys\n"
        "import accounts.telegram\n"
        "import accounts.telegram.records\n"
        "from accounts import telegram\n"
        "assert telegram.records.Me\n"
        "assert 'telethon' not in sys.modules, sorted(m for m in sys.modules if m.startswith('telethon'))\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True)


def test_submodules_load_when_first_named():
    assert telegram.messages.send_message is not None
    assert "updates" in dir(telegram)


def test_an_unknown_name_is_still_an_attribute_error():
    try:
        telegram.nonesuch  # noqa: B018
    except AttributeError as error:
        assert "nonesuch" in str(error)
    else:
        raise AssertionError("accounts.telegram.nonesuch should not exist")


def test_flood_waits_and_2fa_are_recognised_where_errors_are_sorted():
    assert is_flood_wait(errors.FloodWaitError(None, capture=5))
    assert not is_flood_wait(errors.SlowModeWaitError(None, capture=5))
    assert needs_password(errors.SessionPasswordNeededError(None))
    assert not needs_password(ValueError("x"))
