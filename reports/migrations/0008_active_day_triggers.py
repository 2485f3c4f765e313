"""The message triggers of 0002, now also keeping inbound messages per account and day
(``OperatorDay.inbound``) and the conversations active per account and day by their previous active day
(``ActiveDay``), and the first fill of both (the constraints of 0007 must exist first).

A conversation's entry in ``ActiveDay`` is (day, its previous active day) for each day it has messages
on. When a statement changes the days D of a conversation, only the entries of the days in D and of the
first active day after each of them that is not in D can change (any other day keeps its previous active
day): the trigger takes those entries out before the conversation-day rows change and puts them back
after. It holds a transaction lock per conversation first, so two transactions changing days of one
conversation at once read each other's committed days instead of each computing from a state without
the other's.
"""

import importlib

from django.db import migrations

messages_0002 = importlib.import_module("reports.migrations.0002_message_rollup_triggers")
DELTAS = messages_0002.DELTAS

# pg_advisory_xact_lock(REPORTS_LOCK, conversation) (the two-key form: apart from outreach's planner lock).
REPORTS_LOCK = 0x7265
LOCK = f"""
PERFORM pg_advisory_xact_lock({REPORTS_LOCK}, (x.conversation_id % 2147483647)::int)
FROM (SELECT DISTINCT conversation_id FROM ({{delta}}) delta ORDER BY 1) x
"""
ACTIVE = "(r.inbound + r.outbound > 0)"
# The entries (account, day, previous active day) of the days a delta touches and of the first active day
# after each that it does not touch, counted with ``sign`` (-1 before the rows change, +1 after).
ACTIVE_DAYS = f"""
WITH touched AS (SELECT DISTINCT delta.conversation_id, reports_day(delta.date) AS day FROM ({{delta}}) delta),
affected AS (
    SELECT conversation_id, day FROM touched
    UNION
    SELECT t.conversation_id, (
        SELECT min(r.day) FROM reports_conversationday r
        WHERE r.conversation_id = t.conversation_id AND r.day > t.day AND {ACTIVE}
          AND NOT EXISTS (SELECT 1 FROM touched u WHERE u.conversation_id = r.conversation_id AND u.day = r.day)
    ) FROM touched t
)
INSERT INTO reports_activeday (account_id, day, previous, conversations)
SELECT r.account_id, r.day, (
    SELECT max(p.day) FROM reports_conversationday p
    WHERE p.conversation_id = r.conversation_id AND p.day < r.day AND p.inbound + p.outbound > 0
), {{sign}} * count(*)
FROM affected a JOIN reports_conversationday r ON r.conversation_id = a.conversation_id AND r.day = a.day
WHERE {ACTIVE}
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (account_id, day, previous) DO UPDATE SET
    conversations = reports_activeday.conversations + EXCLUDED.conversations
"""
UPSERT_OPERATOR_DAY = """
INSERT INTO reports_operatorday (day, account_id, operator_id, outbound, inbound)
SELECT reports_day(delta.date), c.account_id, delta.sent_by_id,
       COALESCE(sum(delta.sign) FILTER (WHERE delta.direction = 'out'), 0),
       COALESCE(sum(delta.sign) FILTER (WHERE delta.direction = 'in'), 0)
FROM ({delta}) delta JOIN inbox_conversation c ON c.id = delta.conversation_id
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (day, account_id, operator_id) DO UPDATE SET
    outbound = reports_operatorday.outbound + EXCLUDED.outbound,
    inbound = reports_operatorday.inbound + EXCLUDED.inbound
"""


def _trigger_function(op: str) -> str:
    delta = DELTAS[op]
    body = ";\n".join(
        [
            LOCK.format(delta=delta),
            ACTIVE_DAYS.format(delta=delta, sign=-1),
            messages_0002.UPSERT_CONVERSATION_DAY.format(delta=delta),
            UPSERT_OPERATOR_DAY.format(delta=delta),
            ACTIVE_DAYS.format(delta=delta, sign=1),
        ]
    )
    return f"""
CREATE OR REPLACE FUNCTION reports_messages_{op.lower()}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
{body};
RETURN NULL;
END
$body$
"""


FILL = [
    """
    INSERT INTO reports_operatorday (day, account_id, operator_id, outbound, inbound)
    SELECT reports_day(m.date), c.account_id, m.sent_by_id, 0, count(*)
    FROM inbox_message m JOIN inbox_conversation c ON c.id = m.conversation_id
    WHERE NOT m.deleted AND m.direction = 'in'
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (day, account_id, operator_id) DO UPDATE SET inbound = EXCLUDED.inbound
    """,
    f"""
    INSERT INTO reports_activeday (account_id, day, previous, conversations)
    SELECT account_id, day, previous, count(*) FROM (
        SELECT r.account_id, r.day, lag(r.day) OVER (PARTITION BY r.conversation_id ORDER BY r.day) AS previous
        FROM reports_conversationday r WHERE {ACTIVE}
    ) x
    GROUP BY 1, 2, 3
    """,
]
RESTORE = [messages_0002._trigger_function(op).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION") for op in DELTAS]


class Migration(migrations.Migration):
    dependencies = [("reports", "0007_active_days")]

    operations = [migrations.RunSQL([*(_trigger_function(op) for op in DELTAS), *FILL], RESTORE)]
