from __future__ import annotations

from django.urls import path

from agents import views

app_name = "agents"

urlpatterns = [
    path("<int:account_id>/", views.hook, name="hook"),
    path("<int:account_id>/rotate/", views.rotate, name="rotate"),
    path("<int:account_id>/test/", views.test_event, name="test"),
    path("<int:account_id>/log/", views.log, name="log"),
]
