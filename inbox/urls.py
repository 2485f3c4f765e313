from __future__ import annotations

from django.urls import path

from inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("poll/", views.poll, name="poll"),
    path("stream/", views.stream, name="stream"),
    path("c/<int:pk>/", views.conversation, name="conversation"),
    path("c/<int:pk>/messages/", views.history, name="history"),
    path("c/<int:pk>/reply/", views.reply, name="reply"),
    path("c/<int:pk>/m/<int:message_id>/retry/", views.retry, name="retry"),
    path("c/<int:pk>/m/<int:message_id>/media/", views.media_card, name="media"),
    path("c/<int:pk>/m/<int:message_id>/file/", views.media_file, name="media_file"),
    path("c/<int:pk>/state/", views.state, name="state"),
    path("c/<int:pk>/assign/", views.assign, name="assign"),
    path("c/<int:pk>/labels/", views.labels, name="labels"),
    path("c/<int:pk>/automation/", views.automation, name="automation"),
    path("c/<int:pk>/notes/", views.note, name="note"),
    path("c/<int:pk>/opt-out/", views.opt_out, name="opt_out"),
]
