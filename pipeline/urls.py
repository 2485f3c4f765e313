from __future__ import annotations

from django.urls import path

from pipeline import views

app_name = "pipeline"

urlpatterns = [
    path("", views.board, name="board"),
    path("stages/<int:stage_id>/cards/", views.column_more, name="column_more"),
    path("deals/new/", views.deal_new, name="deal_new"),
    path("deals/<int:pk>/", views.deal_detail, name="deal"),
    path("deals/<int:pk>/move/", views.deal_move, name="move"),
]
