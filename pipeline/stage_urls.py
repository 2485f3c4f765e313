from __future__ import annotations

from django.urls import path

from pipeline import stages

app_name = "stages"

urlpatterns = [
    path("", stages.index, name="index"),
    path("<int:pk>/", stages.edit, name="edit"),
    path("<int:pk>/shift/", stages.shift, name="shift"),
    path("<int:pk>/delete/", stages.delete, name="delete"),
]
