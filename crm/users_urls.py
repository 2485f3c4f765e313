from __future__ import annotations

from django.urls import path

from crm import users

app_name = "users"

urlpatterns = [
    path("", users.index, name="index"),
    path("<int:pk>/role/", users.role, name="role"),
    path("<int:pk>/active/", users.active, name="active"),
    path("<int:pk>/password/", users.password, name="password"),
]
