"""Stored ratings keep the codes of the criteria each star failed (rectification checks and
the most-missed criteria read them) and each branch's gaps of the stars it misses as one
text (the ratings export reads it instead of gathering the star rows).

Existing rows are filled from their gap texts, worded as `branches.rating.assess` words
them; their digests no longer match, so the next recompute of a period rewrites its rows
from the engine itself."""

from collections import defaultdict

from django.db import migrations, models

BATCH = 2000


def failed_codes(star_name: str, gaps: list[str], criteria: list[tuple[str, str]]) -> list[str]:
    """The codes of `criteria` ((code, title) of one star, in order) that one of the star's
    gaps names: a breach, months without a counted value, a metric without data, a veto."""
    return [
        code
        for code, title in criteria
        if any(
            gap.startswith(f"{star_name}：{title} ")
            or (gap.startswith(f"{star_name}：") and f"：{title}（" in gap)
            or gap == f"{star_name}：无数据：{title}"
            or (gap.startswith("一票否决") and f"）：{star_name} {title} " in gap)
            for gap in gaps
        )
    ]


def backfill(apps, schema_editor):
    Criterion = apps.get_model("branches", "Criterion")
    StarAssessment = apps.get_model("branches", "StarAssessment")
    BranchRating = apps.get_model("branches", "BranchRating")
    criteria = defaultdict(list)
    for set_id, star, code, title in Criterion.objects.order_by("order", "code").values_list(
        "criteria_set_id", "star", "code", "title"
    ):
        criteria[set_id, star].append((code, title))
    failed = StarAssessment.objects.filter(is_met=False).order_by("unit_id", "period", "kind", "star")
    missing = defaultdict(dict)
    batch = []
    for row in failed.only("criteria_set_id", "star", "star_name", "gaps", "unit_id").iterator(
        chunk_size=BATCH
    ):
        row.failed_codes = failed_codes(
            row.star_name, row.gaps, criteria[row.criteria_set_id, row.star]
        )
        missing[row.unit_id, row.period, row.kind].update(dict.fromkeys(row.gaps))
        batch.append(row)
        if len(batch) == BATCH:
            StarAssessment.objects.bulk_update(batch, ["failed_codes"])
            batch = []
    StarAssessment.objects.bulk_update(batch, ["failed_codes"])
    ratings = []
    for rating in BranchRating.objects.only("unit_id", "period", "kind").iterator(BATCH):
        gaps = missing.get((rating.unit_id, rating.period, rating.kind))
        if gaps:
            rating.gaps_text = "；".join(gaps)
            ratings.append(rating)
    BranchRating.objects.bulk_update(ratings, ["gaps_text"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("branches", "0017_export_log"),
    ]

    operations = [
        migrations.AddField(
            model_name="branchrating",
            name="gaps_text",
            field=models.TextField(
                blank=True,
                default="",
                help_text="未获得各星的差距，以“；”分隔",
                verbose_name="未获星差距",
            ),
        ),
        migrations.AddField(
            model_name="starassessment",
            name="failed_codes",
            field=models.JSONField(
                default=list, help_text="本星未达标的指标编码，按指标顺序", verbose_name="未达标指标"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
