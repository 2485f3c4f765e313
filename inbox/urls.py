from __future__ import annotations

from django.urls import path

from inbox import list_views, todo_views, views

app_name = "inbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("poll/", views.poll, name="poll"),
    path("stream/", views.stream, name="stream"),
    path("bulk/", list_views.bulk, name="bulk"),
    path("views/", list_views.view_save, name="view_save"),
    path("views/<int:view_id>/", list_views.view_open, name="view_open"),
    path("views/<int:view_id>/rename/", list_views.view_rename, name="view_rename"),
    path("views/<int:view_id>/delete/", list_views.view_delete, name="view_delete"),
    path("views/<int:view_id>/move/", list_views.view_move, name="view_move"),
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
    path("c/<int:pk>/tasks/", todo_views.conversation_tasks, name="conversation_tasks"),
    path("tasks/", todo_views.my_tasks, name="tasks"),
    path("tasks/<int:task_id>/", todo_views.task_edit, name="task_edit"),
    path("tasks/<int:task_id>/done/", todo_views.task_done, name="task_done"),
    path("tasks/<int:task_id>/delete/", todo_views.task_delete, name="task_delete"),
    path("notifications/", todo_views.notifications, name="notifications"),
    path("notifications/<int:notification_id>/read/", todo_views.notification_read, name="notification_read"),
    path("notifications/read-all/", todo_views.notifications_read_all, name="notifications_read_all"),
    path("notifications/unread/", todo_views.notifications_unread, name="notifications_unread"),
    path("notifications/stream/", todo_views.notifications_stream, name="notifications_stream"),
    path("notifications/preferences/", todo_views.preferences, name="preferences"),
]
