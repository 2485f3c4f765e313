"""The triggers that keep the per-day response rollups, and their first fill (the constraints of 0003
must exist first)."""

from django.db import migrations

# One occurrence of each value of ``gone`` taken out of ``have`` (a multiset difference).
WITHOUT_FUNCTION = """
CREATE FUNCTION reports_without(have float8[], gone float8[]) RETURNS float8[] LANGUAGE sql IMMUTABLE
AS $$
    SELECT COALESCE(array_agg(h.v), '{}') FROM (
        SELECT v, row_number() OVER (PARTITION BY v) AS k FROM unnest(have) v
    ) h
    WHERE h.k > (SELECT count(*) FROM unnest(gone) g WHERE g = h.v)
$$
"""

# Elementwise a + sign * b of two per-bucket count arrays (a missing element counts 0).
ADD_COUNTS_FUNCTION = """
CREATE FUNCTION reports_add_counts(a int[], b int[], sign int) RETURNS int[] LANGUAGE sql IMMUTABLE
AS $$
    SELECT COALESCE(array_agg(COALESCE(x, 0) + sign * COALESCE(y, 0) ORDER BY i), '{}')
    FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i)
$$
"""
# The histogram's bucket bounds in seconds (reports.selectors.BUCKETS; width_bucket gives 0 below the
# first … 5 above the last). Changing them there means a new migration that refills these counts.
BOUNDS = "ARRAY[300, 900, 3600, 14400, 86400]::float8[]"


def _bucket_counts(column: str) -> str:
    counts = ", ".join(f"count(*) FILTER (WHERE width_bucket({column}, {BOUNDS}) = {b})::int" for b in range(6))
    return f"ARRAY[{counts}]"


# Each event counted under its account, its operator (NULL: automated) and each of its labels.
EXPANDED = """
SELECT reports_day(e.at) AS day, x.dimension, x.key, e.account_id, e.kind, e.automated, e.seconds,
       e.business_seconds
FROM {rows} e CROSS JOIN LATERAL (
    SELECT 'account' AS dimension, e.account_id AS key
    UNION ALL SELECT 'operator', e.operator_id
    UNION ALL SELECT 'label', label FROM unnest(e.labels) label
) x
WHERE e.kind IN ('first_response', 'reply_time')
"""
GROUPED = f"""
SELECT day, dimension, key, account_id, kind, automated, count(*) AS n, array_agg(seconds) AS seconds,
       array_agg(business_seconds) AS business_seconds,
       {_bucket_counts("seconds")} AS seconds_buckets,
       {_bucket_counts("business_seconds")} AS business_buckets
FROM ({{expanded}}) x GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
"""
ADD = """
INSERT INTO reports_responseday (day, dimension, key, account_id, kind, automated, n, seconds, business_seconds,
                                 seconds_buckets, business_buckets)
{grouped}
ON CONFLICT (day, dimension, key, account_id, kind, automated) DO UPDATE SET
    n = reports_responseday.n + EXCLUDED.n,
    seconds = reports_responseday.seconds || EXCLUDED.seconds,
    business_seconds = reports_responseday.business_seconds || EXCLUDED.business_seconds,
    seconds_buckets = reports_add_counts(reports_responseday.seconds_buckets, EXCLUDED.seconds_buckets, 1),
    business_buckets = reports_add_counts(reports_responseday.business_buckets, EXCLUDED.business_buckets, 1)
"""
REMOVE = """
UPDATE reports_responseday d SET
    n = d.n - x.n,
    seconds = reports_without(d.seconds, x.seconds),
    business_seconds = reports_without(d.business_seconds, x.business_seconds),
    seconds_buckets = reports_add_counts(d.seconds_buckets, x.seconds_buckets, -1),
    business_buckets = reports_add_counts(d.business_buckets, x.business_buckets, -1)
FROM ({grouped}) x
WHERE d.day = x.day AND d.dimension = x.dimension AND d.key IS NOT DISTINCT FROM x.key
  AND d.account_id = x.account_id AND d.kind = x.kind AND d.automated = x.automated
"""
# An update moves an event only where what the rollups depend on changed.
CHANGED = """
(SELECT {side}.* FROM old_rows o JOIN new_rows n ON n.id = o.id
 WHERE (o.at, o.account_id, o.operator_id, o.kind, o.automated, o.labels, o.seconds, o.business_seconds)
       IS DISTINCT FROM
       (n.at, n.account_id, n.operator_id, n.kind, n.automated, n.labels, n.seconds, n.business_seconds))
"""


def _statement(template: str, rows: str) -> str:
    return template.format(grouped=GROUPED.format(expanded=EXPANDED.format(rows=rows)))


BODIES = {
    "INSERT": [_statement(ADD, "new_rows")],
    "DELETE": [_statement(REMOVE, "old_rows")],
    "UPDATE": [_statement(REMOVE, CHANGED.format(side="o")), _statement(ADD, CHANGED.format(side="n"))],
}
TABLES = {
    "INSERT": "NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _trigger_function(op: str) -> str:
    body = ";\n".join(BODIES[op])
    return f"""
CREATE FUNCTION reports_events_{op.lower()}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
{body};
RETURN NULL;
END
$body$
"""


def _trigger(op: str) -> str:
    return f"""
CREATE TRIGGER reports_events_{op.lower()} AFTER {op} ON inbox_responseevent
REFERENCING {TABLES[op]} FOR EACH STATEMENT EXECUTE FUNCTION reports_events_{op.lower()}()
"""


DROP = [
    *(f"DROP TRIGGER reports_events_{op.lower()} ON inbox_responseevent" for op in BODIES),
    *(f"DROP FUNCTION reports_events_{op.lower()}()" for op in BODIES),
    "DROP FUNCTION reports_without(float8[], float8[])",
    "DROP FUNCTION reports_add_counts(int[], int[], int)",
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0003_response_rollups")]

    operations = [
        migrations.RunSQL(
            [WITHOUT_FUNCTION, ADD_COUNTS_FUNCTION, *(_trigger_function(op) for op in BODIES), *(_trigger(op) for op in BODIES),
             _statement(ADD, "inbox_responseevent")],
            DROP,
        ),
    ]
