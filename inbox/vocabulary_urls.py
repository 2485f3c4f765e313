from __future__ import annotations

from django.urls import path

from inbox import vocabulary

app_name = "vocabulary"

urlpatterns = [
    path("labels/", vocabulary.labels, name="labels"),
    path("labels/<int:pk>/", vocabulary.label_edit, name="label_edit"),
    path("labels/<int:pk>/delete/", vocabulary.label_delete, name="label_delete"),
    path("replies/", vocabulary.replies, name="replies"),
    path("replies/<int:pk>/", vocabulary.reply_edit, name="reply_edit"),
    path("replies/<int:pk>/delete/", vocabulary.reply_delete, name="reply_delete"),
]
