from __future__ import annotations

from django.urls import path

from teams import views

app_name = "teams"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.rename, name="rename"),
    path("<int:pk>/auto-assign/", views.auto_assign, name="auto_assign"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/accounts/", views.account_add, name="account_add"),
    path("<int:pk>/accounts/remove/", views.account_remove, name="account_remove"),
    path("<int:pk>/members/", views.member_add, name="member_add"),
    path("<int:pk>/members/<int:member>/", views.member_capacity, name="member_capacity"),
    path("<int:pk>/members/<int:member>/remove/", views.member_remove, name="member_remove"),
]
