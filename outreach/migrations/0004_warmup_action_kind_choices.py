from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0003_scrape_incomplete"),
    ]

    operations = [
        migrations.AlterField(
            model_name="warmupaction",
            name="kind",
            field=models.CharField(
                choices=[
                    ("read", "Read a channel"),
                    ("join", "Join a channel"),
                    ("react", "React in a joined channel"),
                    ("chat", "Write to another warming account"),
                ],
                max_length=20,
            ),
        ),
    ]
