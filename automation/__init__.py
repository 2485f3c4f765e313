"""Automation policies: whom each account answers automatically (DM and group policies, pairing)."""
