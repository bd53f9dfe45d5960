"""Leave room in the assessment tables' pages so that a recompute's updates stay HOT.

A recompute rewrites gaps, inputs and digests but no indexed column, so with free
space on the page PostgreSQL updates the row in place without touching the indexes.
"""

from django.db import migrations

TABLES = ["branches_starassessment", "branches_branchrating"]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = 70)")


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("branches", "0010_assessment_unit_constraint")]

    operations = [migrations.RunPython(forward, reverse)]
