from __future__ import annotations

from django.urls import path

from contacts import views

app_name = "fields"

urlpatterns = [
    path("", views.fields, name="index"),
    path("<int:pk>/rename/", views.field_rename, name="rename"),
    path("<int:pk>/delete/", views.field_delete, name="delete"),
]
