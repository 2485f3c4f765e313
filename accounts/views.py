from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm.permissions import admin_required


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/index.html")
