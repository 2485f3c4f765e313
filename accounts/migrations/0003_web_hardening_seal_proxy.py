"""Proxy URLs carry the proxy's credentials: seal them like API hashes (crm.vault, context proxy:<id>)."""

from __future__ import annotations

from django.db import migrations, models

from accounts.models import proxy_shown
from crm import vault


def seal_proxies(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    for account in Account.objects.exclude(proxy="").only("pk", "proxy").iterator():
        Account.objects.filter(pk=account.pk).update(
            proxy_sealed=vault.seal(account.proxy.encode(), context=f"proxy:{account.pk}"),
            proxy_shown=proxy_shown(account.proxy),
        )


def unseal_proxies(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    for account in Account.objects.exclude(proxy_sealed=None).only("pk", "proxy_sealed").iterator():
        url = vault.unseal(bytes(account.proxy_sealed), context=f"proxy:{account.pk}").decode()
        Account.objects.filter(pk=account.pk).update(proxy=url)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_account_operators"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="proxy_sealed",
            field=models.BinaryField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="account",
            name="proxy_shown",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.RunPython(seal_proxies, unseal_proxies),
        migrations.RemoveField(model_name="account", name="proxy"),
    ]
