"""The triggers that keep the per-day send rollups (``reports.models.SendDay``), their first fill, and
the index the funnel reads the partial days at a range's edges with (the constraints of 0005 must exist
first)."""

from django.db import migrations

# What the funnel counts of one send (reports.selectors.FUNNEL_FLAGS reads the same from the rows at the
# edges of a range: change both). ``{s}`` is the row's alias.
FLAGS = """
    1 AS planned,
    ({s}.state = 'sent')::int AS sent,
    ({s}.state = 'sent' AND {s}.message_id IS NOT NULL)::int AS delivered,
    ({s}.read_at IS NOT NULL)::int AS read,
    ({s}.replied_at IS NOT NULL)::int AS replied,
    ({s}.state IN ('failed', 'skipped') AND {s}.reason ILIKE '%spam%')::int AS spam,
    ({s}.state IN ('failed', 'skipped') AND {s}.reason ILIKE '%privacy%')::int AS privacy,
    ({s}.state IN ('failed', 'skipped') AND {s}.reason ILIKE '%deleted%')::int AS deleted,
    ({s}.state IN ('failed', 'skipped') AND {s}.reason ILIKE '%blocked%')::int AS blocked,
    ({s}.state IN ('failed', 'skipped'))::int AS failed
"""
COUNTS = ("planned", "sent", "delivered", "read", "replied", "spam", "privacy", "deleted", "blocked", "failed")
KEY = "reports_day(COALESCE({s}.sent_at, {s}.due_at)) AS day, {s}.campaign_id, {s}.step, {s}.variant, {s}.account_id"

COUNTED = f"SELECT {KEY}, {FLAGS}, {{s}}.text, {{sign}} AS sign FROM {{rows}} {{s}}"
# An update moves a send only where what the funnel depends on changed (most updates of a send do).
WATCHED = "({s}.sent_at, {s}.due_at, {s}.campaign_id, {s}.step, {s}.variant, {s}.account_id, {s}.state, " \
    "{s}.message_id IS NULL, {s}.read_at IS NULL, {s}.replied_at IS NULL, {s}.reason, {s}.text)"
CHANGED = f"""
SELECT {KEY.format(s="o")}, {FLAGS.format(s="o")}, o.text, -1 AS sign
FROM old_rows o JOIN new_rows n ON n.id = o.id
WHERE {WATCHED.format(s="o")} IS DISTINCT FROM {WATCHED.format(s="n")}
UNION ALL
SELECT {KEY.format(s="n")}, {FLAGS.format(s="n")}, n.text, 1 AS sign
FROM old_rows o JOIN new_rows n ON n.id = o.id
WHERE {WATCHED.format(s="o")} IS DISTINCT FROM {WATCHED.format(s="n")}
"""
DELTAS = {
    "INSERT": COUNTED.format(s="n", sign=1, rows="new_rows"),
    "DELETE": COUNTED.format(s="o", sign=-1, rows="old_rows"),
    "UPDATE": CHANGED,
}
UPSERT = f"""
INSERT INTO reports_sendday (day, campaign_id, step, variant, account_id, {", ".join(COUNTS)}, example)
SELECT day, campaign_id, step, variant, account_id, {", ".join(f"sum(sign * {c})" for c in COUNTS)},
       min(text) FILTER (WHERE sign > 0)
FROM ({{delta}}) delta
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (day, campaign_id, step, variant, account_id) DO UPDATE SET
    {", ".join(f"{c} = reports_sendday.{c} + EXCLUDED.{c}" for c in COUNTS)},
    example = LEAST(reports_sendday.example, EXCLUDED.example)
"""
TABLES = {
    "INSERT": "NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _trigger_function(op: str) -> str:
    return f"""
CREATE FUNCTION reports_sends_{op.lower()}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
{UPSERT.format(delta=DELTAS[op])};
RETURN NULL;
END
$body$
"""


def _trigger(op: str) -> str:
    return f"""
CREATE TRIGGER reports_sends_{op.lower()} AFTER {op} ON outreach_send
REFERENCING {TABLES[op]} FOR EACH STATEMENT EXECUTE FUNCTION reports_sends_{op.lower()}()
"""


INDEX = "CREATE INDEX reports_send_moment ON outreach_send ((COALESCE(sent_at, due_at)))"
FILL = UPSERT.format(delta=COUNTED.format(s="s", sign=1, rows="outreach_send"))
DROP = [
    *(f"DROP TRIGGER reports_sends_{op.lower()} ON outreach_send" for op in DELTAS),
    *(f"DROP FUNCTION reports_sends_{op.lower()}()" for op in DELTAS),
    "DROP INDEX reports_send_moment",
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_send_rollups")]

    operations = [
        migrations.RunSQL(
            [*(_trigger_function(op) for op in DELTAS), *(_trigger(op) for op in DELTAS), INDEX, FILL], DROP
        ),
    ]
