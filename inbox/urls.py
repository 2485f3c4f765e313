from __future__ import annotations

from django.urls import path

from inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.index, name="index"),
]
