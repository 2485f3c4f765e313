from __future__ import annotations

from django.urls import path

from contacts import views

app_name = "contacts"

urlpatterns = [
    path("", views.index, name="index"),
    path("export.csv", views.export, name="export"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/panel/", views.panel, name="panel"),
    path("<int:pk>/fields/<int:field_id>/", views.field_value, name="field_value"),
]
