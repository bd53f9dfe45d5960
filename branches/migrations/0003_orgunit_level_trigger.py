"""The database refuses a unit whose level is not below its parent's.

Treebeard keeps the parent implicit in the materialized path (the path minus its
last 4-character step), so a CHECK constraint cannot see it; a trigger can.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION branches_orgunit_check_level() RETURNS trigger AS $$
BEGIN
    IF NEW.depth > 1 AND NOT EXISTS (
        SELECT 1 FROM branches_orgunit p
        WHERE p.path = substr(NEW.path, 1, length(NEW.path) - 4) AND p.level < NEW.level
    ) THEN
        RAISE EXCEPTION 'orgunit % level % is not below its parent level', NEW.code, NEW.level
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND EXISTS (
        SELECT 1 FROM branches_orgunit c
        WHERE c.path LIKE NEW.path || '____' AND c.level <= NEW.level
    ) THEN
        RAISE EXCEPTION 'orgunit % level % is not above its children', NEW.code, NEW.level
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER branches_orgunit_level_insert BEFORE INSERT ON branches_orgunit
    FOR EACH ROW EXECUTE FUNCTION branches_orgunit_check_level();
CREATE TRIGGER branches_orgunit_level_update BEFORE UPDATE OF level ON branches_orgunit
    FOR EACH ROW EXECUTE FUNCTION branches_orgunit_check_level();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS branches_orgunit_level_insert ON branches_orgunit;
DROP TRIGGER IF EXISTS branches_orgunit_level_update ON branches_orgunit;
DROP FUNCTION IF EXISTS branches_orgunit_check_level();
"""

SQLITE_FORWARD = [
    """
    CREATE TRIGGER branches_orgunit_level_insert BEFORE INSERT ON branches_orgunit
    WHEN NEW.depth > 1 AND NOT EXISTS (
        SELECT 1 FROM branches_orgunit p
        WHERE p.path = substr(NEW.path, 1, length(NEW.path) - 4) AND p.level < NEW.level
    )
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orgunit level is not below its parent level'); END
    """,
    """
    CREATE TRIGGER branches_orgunit_level_update BEFORE UPDATE OF level ON branches_orgunit
    WHEN (NEW.depth > 1 AND NOT EXISTS (
        SELECT 1 FROM branches_orgunit p
        WHERE p.path = substr(NEW.path, 1, length(NEW.path) - 4) AND p.level < NEW.level
    )) OR EXISTS (
        SELECT 1 FROM branches_orgunit c
        WHERE c.path LIKE NEW.path || '____' AND c.level <= NEW.level
    )
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orgunit level is not between its parent and children'); END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS branches_orgunit_level_insert",
    "DROP TRIGGER IF EXISTS branches_orgunit_level_update",
]


def forward(apps, schema_editor):
    statements = _statements(schema_editor, forward=True)
    for sql in statements:
        schema_editor.execute(sql, params=None)


def reverse(apps, schema_editor):
    for sql in _statements(schema_editor, forward=False):
        schema_editor.execute(sql, params=None)


def _statements(schema_editor, *, forward):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        return [PG_FORWARD if forward else PG_REVERSE]
    if vendor == "sqlite":
        return SQLITE_FORWARD if forward else SQLITE_REVERSE
    return []


class Migration(migrations.Migration):
    dependencies = [("branches", "0002_initial")]

    operations = [migrations.RunPython(forward, reverse)]
