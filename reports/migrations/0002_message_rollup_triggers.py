"""The triggers that keep the per-day message rollups, and their first fill (constraints of 0001 must
exist first: Django adds them at the end of a migration)."""

from django.conf import settings
from django.db import migrations

# The reports' local day of a moment. The zone is fixed here, when the rollups are built: after
# changing TIME_ZONE, recreate this function and refill the rollups (reverse and re-apply migration).
DAY_FUNCTION = """
CREATE FUNCTION reports_day(moment timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (moment AT TIME ZONE '{zone}')::date $$
"""

# Each rollup from a "delta" set of (conversation_id, date, direction, sent_by_id, sign) rows.
UPSERT_CONVERSATION_DAY = """
INSERT INTO reports_conversationday (conversation_id, day, account_id, inbound, outbound)
SELECT delta.conversation_id, reports_day(delta.date), c.account_id,
       COALESCE(sum(delta.sign) FILTER (WHERE delta.direction = 'in'), 0),
       COALESCE(sum(delta.sign) FILTER (WHERE delta.direction = 'out'), 0)
FROM ({delta}) delta JOIN inbox_conversation c ON c.id = delta.conversation_id
GROUP BY 1, 2, 3 ORDER BY 1, 2
ON CONFLICT (conversation_id, day) DO UPDATE SET
    inbound = reports_conversationday.inbound + EXCLUDED.inbound,
    outbound = reports_conversationday.outbound + EXCLUDED.outbound
"""
UPSERT_OPERATOR_DAY = """
INSERT INTO reports_operatorday (day, account_id, operator_id, outbound)
SELECT reports_day(delta.date), c.account_id, delta.sent_by_id, sum(delta.sign)
FROM ({delta}) delta JOIN inbox_conversation c ON c.id = delta.conversation_id
WHERE delta.direction = 'out'
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (day, account_id, operator_id) DO UPDATE SET
    outbound = reports_operatorday.outbound + EXCLUDED.outbound
"""

COUNTED = "SELECT conversation_id, date, direction, sent_by_id, {sign} AS sign FROM {rows} WHERE NOT deleted"
# An update counts only where what the rollups depend on changed (an edit of the text changes nothing).
CHANGED = """
SELECT o.conversation_id, o.date, o.direction, o.sent_by_id, -1 AS sign
FROM old_rows o JOIN new_rows n ON n.id = o.id
WHERE NOT o.deleted AND (o.conversation_id, o.date, o.direction, o.sent_by_id, o.deleted)
      IS DISTINCT FROM (n.conversation_id, n.date, n.direction, n.sent_by_id, n.deleted)
UNION ALL
SELECT n.conversation_id, n.date, n.direction, n.sent_by_id, 1 AS sign
FROM old_rows o JOIN new_rows n ON n.id = o.id
WHERE NOT n.deleted AND (o.conversation_id, o.date, o.direction, o.sent_by_id, o.deleted)
      IS DISTINCT FROM (n.conversation_id, n.date, n.direction, n.sent_by_id, n.deleted)
"""
DELTAS = {
    "INSERT": COUNTED.format(sign=1, rows="new_rows"),
    "DELETE": COUNTED.format(sign=-1, rows="old_rows"),
    "UPDATE": CHANGED,
}


def _trigger_function(op: str) -> str:
    delta = DELTAS[op]
    body = UPSERT_CONVERSATION_DAY.format(delta=delta) + ";\n" + UPSERT_OPERATOR_DAY.format(delta=delta)
    return f"""
CREATE FUNCTION reports_messages_{op.lower()}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
{body};
RETURN NULL;
END
$body$
"""


def _trigger(op: str) -> str:
    tables = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows",
              "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}[op]  # fmt: skip
    return f"""
CREATE TRIGGER reports_messages_{op.lower()} AFTER {op} ON inbox_message
REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION reports_messages_{op.lower()}()
"""


FILL = [
    UPSERT_CONVERSATION_DAY.format(delta=COUNTED.format(sign=1, rows="inbox_message")),
    UPSERT_OPERATOR_DAY.format(delta=COUNTED.format(sign=1, rows="inbox_message")),
]
DROP = [
    *(f"DROP TRIGGER reports_messages_{op.lower()} ON inbox_message" for op in DELTAS),
    *(f"DROP FUNCTION reports_messages_{op.lower()}()" for op in DELTAS),
    "DROP FUNCTION reports_day(timestamptz)",
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_message_rollups")]

    operations = [
        migrations.RunSQL(
            [DAY_FUNCTION.format(zone=settings.TIME_ZONE.replace("'", "''")), *(_trigger_function(op) for op in DELTAS),
             *(_trigger(op) for op in DELTAS), *FILL],
            DROP,
        ),
    ]
