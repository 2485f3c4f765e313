from __future__ import annotations

from inbox.models import Conversation
from inbox.store import PREVIEW_LENGTH, preview_text


def test_a_preview_is_the_text_on_one_line():
    assert preview_text("  Is the flat\n\tstill  free? ", out=False) == "Is the flat still free?"


def test_our_own_messages_start_with_you():
    assert preview_text("Yes, it is", out=True) == "You: Yes, it is"


def test_media_without_a_caption_shows_its_kind_and_a_caption_wins():
    assert preview_text("", out=False, media_kind="video_note") == "[video note]"
    assert preview_text("", out=True, media_kind="photo") == "You: [photo]"
    assert preview_text("The kitchen", out=False, media_kind="photo") == "The kitchen"


def test_a_preview_fits_its_column():
    column = Conversation._meta.get_field("last_message_preview").max_length
    assert len(preview_text("x" * 500, out=True)) == PREVIEW_LENGTH == column
