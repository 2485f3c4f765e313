from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0007_conversation_last_direction"),
    ]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="media_kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("photo", "Photo"),
                    ("document", "Document"),
                    ("sticker", "Sticker"),
                    ("voice", "Voice message"),
                    ("video_note", "Video message"),
                    ("gif", "GIF"),
                    ("video", "Video"),
                    ("audio", "Audio"),
                    ("location", "Location"),
                    ("contact", "Contact"),
                    ("poll", "Poll"),
                ],
                max_length=20,
            ),
        ),
    ]
