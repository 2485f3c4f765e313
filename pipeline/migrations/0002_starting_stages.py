"""A board that works on the first visit: five stages an admin renames, reorders or deletes."""

from __future__ import annotations

from django.db import migrations

STAGES = [("Lead", "open"), ("Qualified", "open"), ("Proposal", "open"), ("Won", "won"), ("Lost", "lost")]


def add(apps, schema_editor):  # type: ignore[no-untyped-def]
    Stage = apps.get_model("pipeline", "Stage")
    if not Stage.objects.exists():
        Stage.objects.bulk_create(Stage(name=n, kind=k, position=i) for i, (n, k) in enumerate(STAGES))


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial")]
    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
