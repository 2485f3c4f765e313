"""A ready-made demo world: people with personas, busy groups, broadcast channels with posts, and the
test-phone accounts Switchboard's demo onboards.

``build_demo(world)`` takes a few seconds at most; the 12,000-member group is what makes
getParticipants' 10,000 cap visible.
"""

from __future__ import annotations

import time

from tgsim.model import User
from tgsim.world import valid_username

FIRST_NAMES = [
    "Anna",
    "Boris",
    "Clara",
    "Daniel",
    "Elena",
    "Farid",
    "Greta",
    "Hugo",
    "Irina",
    "Jonas",
    "Katya",
    "Liam",
    "Maria",
    "Nikolai",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sergei",
    "Tanya",
    "Umar",
    "Vera",
    "Walter",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Amir",
    "Bianca",
    "Carlos",
    "Dina",
    "Emil",
    "Fatima",
    "Gleb",
    "Hana",
    "Ivan",
    "Julia",
    "Kirill",
    "Lena",
    "Marco",
    "Nadia",
    "Oscar",
    "Polina",
    "Rafael",
    "Sofia",
    "Timur",
    "Ulla",
    "Viktor",
    "Wanda",
    "Yana",
    "Zara",
    "Artem",
    "Bella",
    "Denis",
    "Eva",
    "Felix",
    "Galina",
    "Igor",
    "Jana",
    "Kemal",
]
LAST_NAMES = [
    "Ivanova",
    "Petrov",
    "Smith",
    "Garcia",
    "Müller",
    "Rossi",
    "Kowalski",
    "Novak",
    "Horvat",
    "Jensen",
    "Silva",
    "Kuznetsov",
    "Popescu",
    "Nagy",
    "Dubois",
    "Schmidt",
    "Fischer",
    "Romano",
    "Lopez",
    "Nowak",
    "Andersen",
    "Costa",
    "Yilmaz",
    "Sokolova",
    "Volkov",
    "Berg",
    "Lindqvist",
    "Moreau",
    "Bianchi",
    "Santos",
    "Kaya",
    "Haddad",
    "Tanaka",
    "Kim",
    "Chen",
    "Singh",
    "Okafor",
    "Mensah",
    "Ahmadi",
    "Cohen",
    "Weber",
]
REPLIES = [
    "Hi! Who is this?",
    "Thanks, sounds interesting",
    "Can you send more details?",
    "Not interested, sorry",
    "Let me think about it",
    "What's the price?",
    "Sure, call me tomorrow",
    "How did you get my number?",
    "👍",
    "Ok",
    "Maybe next month",
    "Please don't write to me again",
    "Interesting, tell me more",
]
# How people open a conversation with a business they found (the demo's inbound leads).
OPENERS = [
    "Hi, is the room on Elm Street still available?",
    "Hello! I saw your ad, what's included in the price?",
    "Hey, can I book a viewing this weekend?",
    "Good morning, do you deliver to Bristol?",
    "Hi there, is there a discount for a 12-month contract?",
    "Hello, I have a question about my order",
    "Hi! My friend recommended you. Do you have time for a quick call?",
    "Is this still on offer?",
]
POSTS = [
    "Weekly digest: what changed this week",
    "New feature rollout starts today",
    "Maintenance window tonight",
    "Community call on Thursday",
    "Tip of the day: use saved replies",
    "Hiring: support engineers",
]
DEMO_PASSWORD = "demo-2fa"  # noqa: S105 - the documented 2FA password of a demo account
DEMO_PHONES = [f"999662{n:04d}" for n in range(1, 6)]  # code 22222; the last one has 2FA
# Registered numbers Switchboard's demo does not onboard, for trying the login wizard (code 22222, no
# 2FA): the fourth demo account and four spares. Any other test number has no account here.
SPARE_PHONES = [DEMO_PHONES[3], *(f"999662{n:04d}" for n in range(6, 10))]


def ensure_spares(world) -> list[str]:
    """Create the spare numbers' users that are missing (a world saved before they existed gets them on
    its next start); returns the spare numbers."""
    for phone in SPARE_PHONES:
        if world.user_by_phone(phone) is None:
            world.create_user(phone, f"Spare{phone[-1]}", "Tester")
    return SPARE_PHONES


def bulk_users(world, count: int, prefix: str, phone_prefix: str, usernames: bool) -> list[int]:
    """World.bulk_create_users: thousands of users in milliseconds (no password hashing, no personas)."""
    ids = []
    now = int(time.time())
    rng = world.rng
    serial = len(world.users)
    for _ in range(count):
        serial += 1
        phone = f"{phone_prefix}{serial:08d}"
        while phone in world.phones:
            serial += 1
            phone = f"{phone_prefix}{serial:08d}"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = f"{prefix}_{first.lower()}{serial}" if usernames else None
        if username and (username.lower() in world.usernames or not valid_username(username)):
            username = None
        user = User(
            id=world._new_id(),
            phone=phone,
            first_name=first,
            last_name=last,
            username=username,
            created=now,
            last_seen=now - rng.randint(60, 86_400 * 30),
        )
        world.users[user.id] = user
        world.phones[phone] = user.id
        if username:
            world.usernames[username.lower()] = user.id
        ids.append(user.id)
    return ids


def build_demo(world, *, personas: int = 300, seed_posts: int = 40) -> dict:
    """Populate ``world`` and return a summary (ids and counts) for the demo and the docs."""
    started = time.monotonic()
    rng = world.rng
    accounts = []
    for i, phone in enumerate(DEMO_PHONES):
        password = DEMO_PASSWORD if i == len(DEMO_PHONES) - 1 else None
        accounts.append(world.create_user(phone, f"Demo{i + 1}", "Operator", password=password))

    people = []
    for n in range(personas):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = f"{first.lower()}_{last.lower().replace('ü', 'u')}{n}"
        uid = world.create_user(f"4475{n:08d}", first, last, username=username)
        world.set_persona(
            uid,
            reply_probability=rng.choice([0.2, 0.5, 0.8]),
            delay_min=5.0,
            delay_max=rng.choice([30.0, 120.0, 600.0]),
            texts=rng.sample(REPLIES, 5),
        )
        people.append(uid)
    # Some people don't accept messages from strangers, as on real Telegram.
    for uid in rng.sample(people, len(people) // 20):
        world.users[uid].restricted_privacy = True

    crowd = world.bulk_create_users(12_000, prefix="m")
    owner = people[0]
    groups = {}
    for title, size, hidden in [
        ("Growth Hackers EU", 500, False),
        ("Crypto Signals Chat", 2_000, False),
        ("Remote Work Community", 5_000, False),
        ("Startup Founders Hub", 12_000, False),
        ("Private Traders Club", 1_500, True),
    ]:
        members = (people + crowd)[1:size]
        username = "".join(w[0] for w in title.split()).lower() + "_chat"
        gid = world.create_group(
            title, owner, members=members, hidden_members=hidden, username=username, admins=people[1:3]
        )
        groups[title] = gid
        for _ in range(10):
            world.say(rng.choice(members), to_chat_id=gid, text=rng.choice(REPLIES))

    # Small groups are still basic groups on Telegram: per-member message copies, no public username.
    book_club = world.create_group("Book Club", owner, members=people[1:40], megagroup=False)
    for _ in range(5):
        world.say(rng.choice(people[1:40]), to_chat_id=book_club, text=rng.choice(REPLIES))
    groups["Book Club"] = book_club

    channels = {}
    for title, username in [("Switchboard News", "switchboard_news"), ("Market Daily", "market_daily")]:
        cid = world.create_channel(title, owner, username=username, members=people[:200] + crowd[:3_000])
        for _ in range(seed_posts):
            world.say(owner, to_chat_id=cid, text=rng.choice(POSTS))
        channels[title] = cid

    # A dozen people write to the demo accounts soon after start, so the inbox has conversations.
    for uid in rng.sample(people[1:], 12):
        world.set_persona(uid, reply_probability=0.7, delay_min=5.0, delay_max=90.0, texts=OPENERS,
                          writes_first=accounts)  # fmt: skip

    return {
        "spare_phones": ensure_spares(world),
        "demo_accounts": [
            {
                "phone": p,
                "user_id": uid,
                "code": "22222",
                "password": DEMO_PASSWORD if i == len(accounts) - 1 else None,
            }
            for i, (p, uid) in enumerate(zip(DEMO_PHONES, accounts, strict=True))
        ],
        "personas": len(people),
        "group_ids": groups,
        "channel_ids": channels,
        "seconds": round(time.monotonic() - started, 2),
        **world.stats(),
    }


async def chatter(world, *, every: float = 20.0) -> None:
    """Keep the demo inbox alive: now and then one of the demo's people writes to a demo account."""
    import asyncio

    rng = world.rng
    people = [uid for uid, user in world.users.items() if user.persona is not None]
    demo = [uid for uid in (world.user_by_phone(p) for p in DEMO_PHONES) if uid]
    demo_ids = [user["id"] for user in demo]
    while people and demo_ids:
        await asyncio.sleep(rng.uniform(every * 0.5, every * 1.5))
        world.say(rng.choice(people), to_user_id=rng.choice(demo_ids), text=rng.choice(OPENERS + REPLIES))
