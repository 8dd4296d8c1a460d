"""Database triggers that more than one model uses."""

from __future__ import annotations

import pghistory
import pgtrigger

# History rows for set-based writes: one statement-level trigger inserts every row's event from the
# transition table, where a row-level one would run once per row (10,000 times for one bulk credit).
BULK_INSERT_EVENT = pghistory.InsertEvent(level=pghistory.Statement)
BULK_DELETE_EVENT = pghistory.DeleteEvent(level=pghistory.Statement)


def refuse_truncate_leaving(parent_table: str, column: str, name: str) -> pgtrigger.Trigger:
    """TRUNCATE skips row triggers: refuse one that would leave a parent's stored sum without its rows.

    Truncating the parents in the same statement (as a test flush does) still works.
    """
    return pgtrigger.Trigger(
        name=name,
        level=pgtrigger.Statement,
        when=pgtrigger.After,
        operation=pgtrigger.Truncate,
        func=f"""
IF EXISTS (SELECT 1 FROM {parent_table} WHERE {column} <> 0) THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation',
        MESSAGE = 'Truncating ' || TG_TABLE_NAME || ' alone would leave {parent_table}.{column} without its rows';
END IF;
RETURN NULL;
""",
    )


def kept_by_db(name: str, fields: tuple[str, ...], message: str) -> list[pgtrigger.Trigger]:
    """Refuse direct writes of sums that the child rows' triggers keep: an INSERT with any of `fields`
    not zero, or an UPDATE that changes one, unless a trigger (one level deeper) is making it.

    The WHEN conditions are checked by PostgreSQL itself, so the function runs only for such writes,
    not for every ordinary row (an INSERT … SELECT of 10,000 credits spent 0.4 s calling it).
    `message` is SQL text: a quote is written twice.
    """
    refuse = f"""
IF pg_trigger_depth() = 1 THEN
    RAISE EXCEPTION '{message}' USING ERRCODE = 'check_violation';
END IF;
RETURN NEW;
"""
    new, old = (", ".join(f"{row}.{field}" for field in fields) for row in ("NEW", "OLD"))
    return [
        pgtrigger.Trigger(
            name=f"{name}_insert",
            when=pgtrigger.Before,
            operation=pgtrigger.Insert,
            func=refuse,
            condition=pgtrigger.Condition(" OR ".join(f"NEW.{field} <> 0" for field in fields)),
        ),
        pgtrigger.Trigger(
            name=f"{name}_update",
            when=pgtrigger.Before,
            operation=pgtrigger.Update,
            func=refuse,
            condition=pgtrigger.Condition(f"ROW({new}) IS DISTINCT FROM ROW({old})"),
        ),
    ]


def keeps_parent_sum(name: str, parent_table: str, parent_fk: str, column: str) -> list[pgtrigger.Trigger]:
    """Keep a parent's stored sum of its child rows' amounts: once per statement, from its transition table.

    One UPDATE per statement for every parent it touched, where a row-level trigger updated the parent
    once per child row, each update writing a history event and new index entries.
    Child rows are never updated (their own triggers refuse it), only inserted and deleted.
    """

    def add(rows: str, sign: str) -> str:
        return f"""
UPDATE {parent_table} AS parent SET {column} = parent.{column} {sign} changed.amount
FROM (SELECT {parent_fk} AS id, SUM(amount) AS amount FROM {rows} GROUP BY {parent_fk}) AS changed
WHERE parent.id = changed.id;
RETURN NULL;
"""

    return [
        pgtrigger.Trigger(
            name=f"{name}_insert",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=pgtrigger.Insert,
            referencing=pgtrigger.Referencing(new="new_rows"),
            func=add("new_rows", "+"),
        ),
        pgtrigger.Trigger(
            name=f"{name}_delete",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=pgtrigger.Delete,
            referencing=pgtrigger.Referencing(old="old_rows"),
            func=add("old_rows", "-"),
        ),
    ]
