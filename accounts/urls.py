from __future__ import annotations

from django.urls import path

from accounts import views, wizard

app_name = "accounts"

urlpatterns = [
    path("", views.index, name="index"),
    path("bulk/", views.bulk, name="bulk"),
    path("alerts/", views.alerts, name="alerts"),
    path("stream/", views.fleet_stream, name="stream"),
    path("import/", views.import_session, name="import"),
    path("new/", wizard.start, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/proxy/", views.proxy, name="proxy"),
    path("<int:pk>/operators/", views.operators, name="operators"),
    path("<int:pk>/read-on-telegram/", views.read_on_telegram, name="read_on_telegram"),
    path("<int:pk>/logout/", views.log_out, name="logout"),
    path("<int:pk>/logout/poll/", views.log_out_poll, name="logout_poll"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/login/", wizard.login, name="login"),
    path("<int:pk>/login/code/request/", wizard.request_code, name="request_code"),
    path("<int:pk>/login/code/", wizard.submit_code, name="submit_code"),
    path("<int:pk>/login/password/", wizard.submit_password, name="submit_password"),
    path("<int:pk>/login/poll/", wizard.poll, name="login_poll"),
    path("<int:pk>/login/restart/", wizard.restart, name="restart"),
    path("<int:pk>/login/forget/", wizard.forget, name="forget"),
    path("<int:pk>/pause/", views.action, {"name": "pause"}, name="pause"),
    path("<int:pk>/resume/", views.action, {"name": "resume"}, name="resume"),
    path("<int:pk>/disable/", views.action, {"name": "disable"}, name="disable"),
]
