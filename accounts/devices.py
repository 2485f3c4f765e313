"""Device fingerprints an account presents to Telegram: chosen once per account, then kept."""

from __future__ import annotations

import random

DEVICES = (
    ("Samsung Galaxy S23", "SDK 34", "Android"),
    ("Samsung Galaxy A54", "SDK 34", "Android"),
    ("Google Pixel 8", "SDK 35", "Android"),
    ("Xiaomi 13T", "SDK 34", "Android"),
    ("OnePlus 12", "SDK 34", "Android"),
    ("iPhone 14", "iOS 17.5", "iOS"),
    ("iPhone 15 Pro", "iOS 18.1", "iOS"),
    ("MacBook Pro", "macOS 14.6", "macOS"),
    ("Desktop", "Windows 11", "Desktop"),
)
APP_VERSIONS = {"Android": "11.2.3", "iOS": "11.2", "macOS": "11.2", "Desktop": "5.7.1 x64"}
LANGUAGES = (("en", "en-US"), ("en", "en-GB"), ("de", "de-DE"), ("es", "es-ES"))


def choose_device(*, seed: str) -> dict[str, str]:
    """A realistic, stable device for a phone number (same number → same device)."""
    rng = random.Random(seed)
    model, system, platform = rng.choice(DEVICES)
    lang, system_lang = rng.choice(LANGUAGES)
    return {
        "device_model": model,
        "system_version": system,
        "app_version": APP_VERSIONS[platform],
        "lang_code": lang,
        "system_lang_code": system_lang,
    }
