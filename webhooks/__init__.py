"""Webhooks (Standard Webhooks): what happens in Switchboard, signed and delivered durably."""
