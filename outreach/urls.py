from __future__ import annotations

from django.urls import path

from outreach import views

app_name = "outreach"

urlpatterns = [
    path("", views.index, name="index"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/<str:action>/", views.campaign_action, name="campaign_action"),
    path("spintax/preview/", views.spintax_preview, name="spintax_preview"),
    path("audiences/", views.audiences, name="audiences"),
    path("audiences/<int:pk>/", views.audience_detail, name="audience"),
    path("audiences/<int:pk>/import/<str:source>/", views.audience_import, name="audience_import"),
    path("scraping/", views.scrapes, name="scrapes"),
    path("scraping/<int:pk>/", views.scrape_detail, name="scrape"),
    path("scraping/<int:pk>/<str:action>/", views.scrape_action, name="scrape_action"),
    path("warm-up/", views.warmups, name="warmups"),
    path("warm-up/<int:pk>/<str:action>/", views.warmup_action, name="warmup_action"),
]
