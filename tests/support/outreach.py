"""Builders for outreach tests: contacts, audiences and campaigns without the UI."""

from __future__ import annotations

import itertools
import os
from datetime import time, timedelta

from inbox.models import Contact, ContactHash
from outreach import services
from outreach.models import Audience, AudienceMember, WarmupPlan

_ids = itertools.count((os.getpid() % 1000) * 1_000_000 + 1)


def contacts(n: int, *, username: bool = True, prefix: str = "lead") -> list[Contact]:
    rows = []
    for _ in range(n):
        i = next(_ids)
        rows.append(
            Contact(
                telegram_id=7_000_000_000 + i,
                username=f"{prefix}{i}" if username else "",
                first_name=f"Lead{i}",
            )
        )
    return Contact.objects.bulk_create(rows)


def audience(people: list[Contact], *, name: str = "Leads", **filters) -> Audience:
    aud = Audience.objects.create(name=f"{name} {next(_ids)}", **filters)
    AudienceMember.objects.bulk_create([AudienceMember(audience=aud, contact=c) for c in people])
    return aud


def give_hashes(account, people: list[Contact]) -> None:
    ContactHash.objects.bulk_create(
        [ContactHash(contact=c, account=account, access_hash=c.telegram_id) for c in people]
    )


def campaign(aud: Audience, senders, *, cap: int = 10, follow_ups=None, **settings):
    defaults = dict(
        daily_cap=cap, gap_min=0, gap_max=0, window_start=time(0, 0), window_end=time(0, 0), timezone="UTC"
    )
    defaults.update(settings)
    return services.campaign_create(
        name="Spring",
        template="{Hi|Hello} {{first_name|there}}",
        audience=aud,
        senders=list(senders),
        follow_ups=follow_ups,
        **defaults,
    )


def campaign_form(aud: Audience, sender, **override) -> dict:
    """The new-campaign form's body, valid as it stands; ``override`` changes or adds fields."""
    body = {
        "name": "Launch",
        "template": "Hi {{first_name|there}}",
        "audience": aud.pk,
        "senders": [sender.pk],
        "daily_cap": 20,
        "gap_min": 30,
        "gap_max": 90,
        "window_start": "09:00",
        "window_end": "18:00",
        "timezone": "UTC",
    }
    return {**body, **override}


def generous_limits(
    account, *, new_dm: int = 1000, resolve: int = 1000, scrape: int = 10_000, **more
) -> WarmupPlan:
    """A finished warm-up plan whose budgets fit a test's volume."""
    target = {"new_dm": new_dm, "resolve_username": resolve, "scrape_page": scrape, "message": 1000, **more}
    return WarmupPlan.objects.create(account=account, days=1, start_limits=target, target_limits=target)


def follow_up(after_seconds: float, text: str = "Just checking in, {{first_name|friend}}"):
    return (timedelta(seconds=after_seconds), text)


def sim_people(
    tgsim, count: int, *, prefix: str, reply_probability: float = 0.0, delay=(0.2, 1.0)
) -> list[Contact]:
    """``count`` tgsim users (some scripted to answer DMs) and their Contact rows, as imports leave them."""
    ids = tgsim.world_call("bulk_create_users", count, prefix=prefix)

    def describe():
        world = tgsim.world
        for uid in ids:
            if reply_probability:
                world.set_persona(
                    uid,
                    reply_probability=reply_probability,
                    delay_min=delay[0],
                    delay_max=delay[1],
                    texts=["thanks, who is this?"],
                )
        return [(uid, world.users[uid].username or "", world.users[uid].first_name) for uid in ids]

    rows = tgsim.run(describe)
    return Contact.objects.bulk_create(
        [Contact(telegram_id=uid, username=username, first_name=first) for uid, username, first in rows]
    )


def received(tgsim, people: list[Contact], senders: list[int]) -> dict[int, list[tuple[int, str, int]]]:
    """What each person got from the pool in tgsim: [(sender user id, text, date)], oldest first."""
    ids = [c.telegram_id for c in people]

    def collect():
        world = tgsim.world
        found = {}
        for uid in ids:
            got = []
            for sender in senders:
                got += [
                    (sender, m["text"], m["date"])
                    for m in world.messages_between(uid, sender)
                    if not m["out"]
                ]
            found[uid] = sorted(got, key=lambda row: row[2])
        return found

    return tgsim.run(collect)


def replies_sent(tgsim, people: list[Contact], senders: list[int]) -> dict[int, int]:
    """When each person first wrote back to a pool account (tgsim's clock), for those who did."""
    ids = [c.telegram_id for c in people]

    def collect():
        world = tgsim.world
        first = {}
        for uid in ids:
            dates = [m["date"] for s in senders for m in world.messages_between(uid, s) if m["out"]]
            if dates:
                first[uid] = min(dates)
        return first

    return tgsim.run(collect)


def backfilled(accounts) -> bool:
    """The inbox finished its first backfill of these accounts: a host stopped mid-backfill takes its
    whole shutdown timeout, so short tests wait for it before leaving the session host."""
    from accounts.models import AccountEvent

    ids = {a.pk for a in accounts}
    done = set(
        AccountEvent.objects.filter(account_id__in=ids, kind="inbox_backfilled").values_list(
            "account_id", flat=True
        )
    )
    return done == ids
