from __future__ import annotations

import pytest
from django.urls import reverse

from inbox.models import MediaFile, Message
from tests.support.inbox import Persona, agent, persona_send_file
from tests.support.processes import session_host, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The smallest valid JPEG header bytes are enough: tgsim stores what it is given.
PHOTO = b"\xff\xd8\xff\xe0" + b"switchboard-photo" * 64 + b"\xff\xd9"


def test_media_is_ingested_as_metadata_and_fetched_once_an_operator_opens_it(
    tgsim, host_env, api_app, operator, client, tmp_path
):
    account, _, address = agent(tgsim, api_app)
    account.operators.add(operator)
    client.force_login(operator)
    hana = Persona(tgsim, first_name="Hana")
    try:
        with session_host("a", log_path=tmp_path / "host.log", env=host_env):
            wait_for(
                lambda: account.events.filter(kind="inbox_backfilled").exists(), timeout=30, what="backfill"
            )
            persona_send_file(hana, address, PHOTO, name="kitchen.jpg", caption="The kitchen")
            message = wait_for(
                lambda: Message.objects.filter(conversation__account=account, media_kind="photo").first(),
                timeout=15,
                what="the photo message",
            )
            assert message.text == "The kitchen" and not MediaFile.objects.exists()

            url = reverse("inbox:media", args=[message.conversation_id, message.pk])
            assert "Fetching" in client.post(url).content.decode()
            wait_for(lambda: MediaFile.objects.filter(message=message).exists(), timeout=30, what="the file")
    finally:
        hana.close()
    assert "<img" in client.get(url).content.decode()
    served = client.get(reverse("inbox:media_file", args=[message.conversation_id, message.pk]))
    assert served.status_code == 200 and served.content == PHOTO and served["Content-Type"] == "image/jpeg"


def test_another_operators_media_is_a_404(operator_client, make_account):
    from tests.support.inbox import conversation_make

    hidden = conversation_make(make_account(), title="Hidden", peer_id=77, texts=("x",))
    message = hidden.messages.get()
    MediaFile.objects.create(message=message, data=b"secret", mime_type="image/png", size=6)
    assert operator_client.get(reverse("inbox:media_file", args=[hidden.pk, message.pk])).status_code == 404
    assert operator_client.post(reverse("inbox:media", args=[hidden.pk, message.pk])).status_code == 404
