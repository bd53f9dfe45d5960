"""The urban default set names BR-03 社区后备干部人数 (the rural set: 村级后备干部人数).

Only the shipped catalogue's urban sets whose BR-03 still carries the old default title are
renamed; a title an administrator wrote is left alone. The rule, codes and stored values do
not change, so no rating needs recomputing.
"""

from django.db import migrations

RURAL_TITLE, URBAN_TITLE = "村级后备干部人数", "社区后备干部人数"


def _retitle(apps, old: str, new: str) -> None:
    Criterion = apps.get_model("branches", "Criterion")
    Criterion.objects.filter(
        criteria_set__is_default_catalogue=True,
        criteria_set__area_type="URBAN",
        code="BR-03",
        title=old,
    ).update(title=new)


def urban_title(apps, schema_editor):
    _retitle(apps, RURAL_TITLE, URBAN_TITLE)


def rural_title(apps, schema_editor):
    _retitle(apps, URBAN_TITLE, RURAL_TITLE)


class Migration(migrations.Migration):

    dependencies = [
        ("branches", "0015_criterion_plausibility"),
    ]

    operations = [migrations.RunPython(urban_title, rural_title)]
