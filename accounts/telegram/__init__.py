"""Telethon stays here: small async functions per area that turn Telethon objects into our dataclasses."""
