from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import rest
from crm import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("inbox/", include("inbox.urls")),
    path("accounts/", include("accounts.urls")),
    path("outreach/", include("outreach.urls")),
    path("pipeline/", include("pipeline.urls")),
    path("reports/", include("reports.urls")),
    path("automation/", include("automation.urls")),
    path("settings/api/", include("api.urls")),
    path("settings/webhooks/", include("webhooks.urls")),
    path("settings/users/", include("crm.users_urls")),
    path("settings/teams/", include("teams.urls")),
    path("settings/stages/", include("pipeline.stage_urls")),
    path("settings/fields/", include("contacts.field_urls")),
    path("settings/", include("inbox.vocabulary_urls")),
    path("contacts/", include("contacts.urls")),
    path("agent-hooks/", include("agents.urls")),
    path("api/v1/", rest.urls()),
    path("admin/", admin.site.urls),
]
