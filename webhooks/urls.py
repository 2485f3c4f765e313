"""The webhooks pages of the console, under /settings/webhooks/."""

from __future__ import annotations

from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.endpoint_new, name="new"),
    path("<int:pk>/", views.endpoint_detail, name="detail"),
    path("<int:pk>/edit/", views.endpoint_edit, name="edit"),
    path("<int:pk>/rotate/", views.endpoint_rotate, name="rotate"),
    path("<int:pk>/toggle/", views.endpoint_toggle, name="toggle"),
    path("<int:pk>/test/", views.endpoint_test, name="test"),
    path("<int:pk>/delete/", views.endpoint_delete, name="delete"),
    path("deliveries/<int:pk>/replay/", views.delivery_replay, name="replay"),
]
