from __future__ import annotations

from django.urls import path

from automation import views

app_name = "automation"

urlpatterns = [
    path("pairing/", views.requests, name="requests"),
    path("pairing/<int:pk>/<str:decision>/", views.decide, name="decide"),
    path("accounts/<int:pk>/", views.account, name="account"),
    path("accounts/<int:pk>/settings/", views.settings_save, name="settings"),
    path("accounts/<int:pk>/allowlist/", views.allow, name="allow"),
    path("accounts/<int:pk>/allowlist/<int:entry>/remove/", views.disallow, name="disallow"),
]
