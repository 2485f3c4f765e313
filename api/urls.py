"""The API pages of the console, under /settings/api/ (the API itself is at /api/v1/ and /mcp)."""

from __future__ import annotations

from django.urls import path

from api import views

app_name = "apikeys"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.key_new, name="new"),
    path("<int:pk>/revoke/", views.key_revoke_confirm, name="revoke"),
    path("audit/", views.audit, name="audit"),
]
