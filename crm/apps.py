from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Switchboard"
    default_auto_field = "django.db.models.BigAutoField"


class SwitchboardAdminConfig(AdminConfig):
    default_site = "crm.adminsite.SwitchboardAdminSite"
