from __future__ import annotations

from django.urls import path

from outreach import views

app_name = "outreach"

urlpatterns = [
    path("", views.index, name="index"),
]
