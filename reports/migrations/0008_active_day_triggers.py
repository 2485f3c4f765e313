"""The message triggers of 0002, now also keeping inbound messages per account and day
(``OperatorDay.inbound``) and the conversations active per account and day by their previous active day
(``ActiveDay``), and the first fill of both (the constraints of 0007 must exist first).

A conversation's entry in ``ActiveDay`` is (day, its previous active day) for each day it has messages
on. When a statement changes the days D of a conversation, only the entries of the days in D and of the
first active day after each of them that is not in D can change (any other day keeps its previous active
day): the trigger takes those entries out before the conversation-day rows change and puts them back
after. It locks the conversations' rows first, so two transactions changing days of one conversation at
once read each other's committed days instead of each computing from a state without the other's.
"""

import importlib

from django.db import migrations

messages_0002 = importlib.import_module("reports.migrations.0002_message_rollup_triggers")
DELTAS = messages_0002.DELTAS

# The conversations' rows are locked (not advisory locks: a statement may touch tens of thousands of
# conversations, more than PostgreSQL's lock table holds). Ingestion updates these rows in the same
# transaction anyway; other writers of a conversation wait for the message write to commit.
LOCK = """
PERFORM 1 FROM inbox_conversation c
WHERE c.id IN (SELECT delta.conversation_id FROM ({delta}) delta)
ORDER BY c.id FOR NO KEY UPDATE
"""
ACTIVE = "(r.inbound + r.outbound > 0)"
# The entries (account, day, previous active day) of the days a delta touches and of the first active day
# after each that it does not touch, counted with ``sign`` (-1 before the rows change, +1 after).
ACTIVE_DAYS = f"""
WITH touched AS (
    SELECT delta.conversation_id, array_agg(DISTINCT reports_day(delta.date)) AS days FROM ({{delta}}) delta
    GROUP BY 1
),
affected AS (
    SELECT t.conversation_id, d.day FROM touched t, unnest(t.days) d(day)
    UNION
    SELECT t.conversation_id, (
        SELECT min(r.day) FROM reports_conversationday r
        WHERE r.conversation_id = t.conversation_id AND r.day > d.day AND {ACTIVE} AND r.day <> ALL(t.days)
    ) FROM touched t, unnest(t.days) d(day)
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
