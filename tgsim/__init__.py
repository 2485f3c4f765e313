"""tgsim: a local Telegram data centre that speaks MTProto 2.0 over TCP.

Switchboard's tests, benchmarks and demo run against it through the real Telethon client.
"""
