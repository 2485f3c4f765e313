"""Benchmark: what webhooks cost ingestion, and how fast one worker delivers.

Run:  .venv/bin/python bench/webhook_delivery.py [--messages 20000] [--deliveries 2000]
Uses its own database (switchboard_bench_webhooks, recreated). First times inbox.store.ingest (batches
of 1000 received messages, as a busy session host flushes) with no endpoint, one endpoint for every
event, and five; then the sweep sending ``deliveries`` events, signed, to a local HTTP receiver that
answers 204, in this one process (one worker's worth). The fast path's kicks go to a queue of this run
only, deleted at the end. Prints one line per measurement; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support import setup

BATCH = 1000


def records(account_ids: list[int], count: int, start: int) -> list:
    from accounts.telegram.records import MessageRecord, PeerInfo, UserInfo

    now = datetime.now(tz=UTC)
    rows = []
    for n in range(start, start + count):
        user = UserInfo(
            telegram_id=90_000_000 + n % 2000, access_hash=n, first_name="Load", last_name=str(n % 2000)
        )
        peer = PeerInfo(peer_id=user.telegram_id, kind="private", title=user.display_name, user=user)
        rows.append(
            MessageRecord(
                account_id=account_ids[n % len(account_ids)], peer=peer, telegram_id=1_000_000 + n, out=False,
                date=now, text=f"load test message {n}", sender=user, sender_name=user.display_name,
            )
        )  # fmt: skip
    return rows


def ingest_rate(account_ids: list[int], count: int, start: int) -> float:
    from inbox import store
    from inbox.records import Batch

    batch = records(account_ids, count, start)
    started = time.perf_counter()
    for offset in range(0, count, BATCH):
        store.ingest(Batch(messages=batch[offset : offset + BATCH]))
    return count / (time.perf_counter() - started)


def receiver() -> tuple[str, ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/hook", server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--deliveries", type=int, default=2_000)
    args = parser.parse_args()

    os.environ["WEBHOOK_ALLOW_PRIVATE"] = "1"
    setup(database="switchboard_bench_webhooks", queue_prefix="benchhooks")
    from django.conf import settings

    settings.DEBUG = False  # DEBUG keeps every query in memory
    from accounts import services as accounts
    from crm.celery import app
    from webhooks import services, tasks
    from webhooks.events import NewEvent, events_record
    from webhooks.models import Delivery, Endpoint, Event

    queue = f"benchhooks{os.getpid()}"
    app.conf.task_default_queue = queue
    api_app = accounts.api_app_create(name="bench", api_id=1, api_hash="0123456789abcdef" * 2)
    account_ids = [accounts.account_create(phone=f"99966{i:05d}", api_app=api_app).pk for i in range(20)]
    url, server = receiver()
    try:
        start = 0
        for endpoints in (0, 1, 5):
            while Endpoint.objects.count() < endpoints:
                services.endpoint_create(url=url)
            rate = ingest_rate(account_ids, args.messages, start)
            start += args.messages
            print(
                f"ingest with {endpoints} endpoint(s): {rate:.0f} messages/s "
                f"({Event.objects.count()} events, {Delivery.objects.count()} deliveries so far)"
            )
        Delivery.objects.all().delete()
        Event.objects.all().delete()
        Endpoint.objects.exclude(pk=Endpoint.objects.order_by("pk").first().pk).delete()
        for offset in range(0, args.deliveries, BATCH):
            events_record(
                [
                    NewEvent(type="message.received", payload={"text": f"m{n}"})
                    for n in range(offset, offset + BATCH)
                ]
            )
        started = time.perf_counter()
        sent = tasks.sweep()
        took = time.perf_counter() - started
        ok = Delivery.objects.filter(state="succeeded").count()
        print(f"sweep, one worker: {sent} deliveries in {took:.1f} s = {sent / took:.0f}/s ({ok} succeeded)")
    finally:
        server.shutdown()
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
