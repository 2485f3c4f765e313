"""The message triggers of 0002, now also keeping the conversations active per account, assignee and
day by their previous active day, with their inbound messages (``ActiveDay``); a trigger moving a
reassigned conversation's entries; and their first fill (the constraints of 0005 must exist first).

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
UPSERT_ACTIVE_DAY = """
ON CONFLICT (account_id, assignee_id, day, previous) DO UPDATE SET
    conversations = reports_activeday.conversations + EXCLUDED.conversations,
    inbound = reports_activeday.inbound + EXCLUDED.inbound
"""
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
INSERT INTO reports_activeday (account_id, assignee_id, day, previous, conversations, inbound)
SELECT r.account_id, c.assignee_id, r.day, (
    SELECT max(p.day) FROM reports_conversationday p
    WHERE p.conversation_id = r.conversation_id AND p.day < r.day AND p.inbound + p.outbound > 0
), {{sign}} * count(*), {{sign}} * sum(r.inbound)
FROM affected a JOIN reports_conversationday r ON r.conversation_id = a.conversation_id AND r.day = a.day
JOIN inbox_conversation c ON c.id = r.conversation_id
WHERE {ACTIVE}
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
{UPSERT_ACTIVE_DAY}
"""
def _trigger_function(op: str) -> str:
    delta = DELTAS[op]
    body = ";\n".join(
        [
            LOCK.format(delta=delta),
            ACTIVE_DAYS.format(delta=delta, sign=-1),
            messages_0002.UPSERT_CONVERSATION_DAY.format(delta=delta),
            messages_0002.UPSERT_OPERATOR_DAY.format(delta=delta),
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


# A reassigned conversation's entries move from its old assignee to the new one. A row trigger on the
# assignee column with a WHEN clause: conversations are updated by every ingested batch, and a statement
# trigger with transition tables on all of those halved ingestion (bench/reports_rollup_cost.py).
REASSIGNED = f"""
INSERT INTO reports_activeday (account_id, assignee_id, day, previous, conversations, inbound)
SELECT account_id, assignee_id, day, previous, sum(sign), sum(sign * inbound) FROM (
    SELECT r.account_id, x.assignee_id, r.day, x.sign, r.inbound,
           lag(r.day) OVER (PARTITION BY x.sign ORDER BY r.day) AS previous
    FROM (VALUES (OLD.assignee_id::bigint, -1), (NEW.assignee_id::bigint, 1)) x (assignee_id, sign)
    JOIN reports_conversationday r ON r.conversation_id = OLD.id
    WHERE {ACTIVE}
) moved
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
{UPSERT_ACTIVE_DAY}
"""
REASSIGNED_TRIGGER = [
    f"""
CREATE FUNCTION reports_conversations_update() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
{REASSIGNED};
RETURN NULL;
END
$body$
""",
    """
CREATE TRIGGER reports_conversations_update AFTER UPDATE OF assignee_id ON inbox_conversation
FOR EACH ROW WHEN (OLD.assignee_id IS DISTINCT FROM NEW.assignee_id)
EXECUTE FUNCTION reports_conversations_update()
""",
]

FILL = [
    f"""
    INSERT INTO reports_activeday (account_id, assignee_id, day, previous, conversations, inbound)
    SELECT account_id, assignee_id, day, previous, count(*), sum(inbound) FROM (
        SELECT r.account_id, c.assignee_id, r.day, r.inbound,
               lag(r.day) OVER (PARTITION BY r.conversation_id ORDER BY r.day) AS previous
        FROM reports_conversationday r JOIN inbox_conversation c ON c.id = r.conversation_id WHERE {ACTIVE}
    ) x
    GROUP BY 1, 2, 3, 4
    """,
]
RESTORE = [
    "DROP TRIGGER reports_conversations_update ON inbox_conversation",
    "DROP FUNCTION reports_conversations_update()",
    *(messages_0002._trigger_function(op).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION") for op in DELTAS),
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_active_days")]

    operations = [
        migrations.RunSQL([*(_trigger_function(op) for op in DELTAS), *REASSIGNED_TRIGGER, *FILL], RESTORE)
    ]
