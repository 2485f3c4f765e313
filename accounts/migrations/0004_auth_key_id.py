"""Each stored session's auth_key_id, unique: the database refuses one auth key for two accounts.

Existing sessions get theirs from the sealed blob. Where two accounts already share a key, the one
imported first keeps it; the others are disabled and their copy of the key is erased, so neither a host
nor an admin's "resume" connects it a second time (Telegram would kill it as AUTH_KEY_DUPLICATED).
Such an account logs in again with the wizard if it is wanted.
"""

from __future__ import annotations

from django.db import migrations, models


def fill_auth_key_ids(apps, schema_editor):
    from accounts.models import session_context
    from accounts.sessions import SessionState, auth_key_id
    from crm import vault

    TelegramSession = apps.get_model("accounts", "TelegramSession")
    Account = apps.get_model("accounts", "Account")
    seen: dict[int, int] = {}
    for row in TelegramSession.objects.order_by("account_id").iterator():
        if not row.blob:
            continue
        context = session_context(account_id=row.account_id, version=row.version)
        state = SessionState.from_bytes(vault.unseal(bytes(row.blob), context=context))
        if not state.auth_key:
            continue
        key_id = auth_key_id(state.auth_key)
        if key_id in seen:
            Account.objects.filter(pk=row.account_id).update(
                status="disabled", status_reason=f"Same auth key as account #{seen[key_id]}; log in again"
            )
            TelegramSession.objects.filter(pk=row.pk).delete()
            continue
        seen[key_id] = row.account_id
        TelegramSession.objects.filter(pk=row.pk).update(auth_key_id=key_id)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_seal_proxy"),
    ]

    operations = [
        migrations.AddField(
            model_name="telegramsession",
            name="auth_key_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.RunPython(fill_auth_key_ids, migrations.RunPython.noop),
    ]
