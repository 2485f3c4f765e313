"""The session host: a Celery worker bootstep running one asyncio loop that hosts many Telethon clients."""
