"""A supervision report as a PDF (WeasyPrint) and as a workbook (the project's xlsx helper),
both drawn from the report's stored snapshot."""

from django.template.loader import render_to_string

from branches.spreadsheets.tables import NUMBER, Column, Table, xlsx_file
from governance.models import SupervisionReport


def report_filename(report: SupervisionReport) -> str:
    return f"督导通报_{report.snapshot['unit']['name']}_{report.period:%Y-%m}_v{report.version}"


def level_rows(snap: dict) -> list[dict]:
    """The headline table: branches per level and the change from last month and December."""
    head = snap["headline"]
    return [
        {
            "level": level,
            "n": n,
            "month": head["vs_last_month"]["by_level_delta"][level],
            "december": head["vs_december"]["by_level_delta"][level],
        }
        for level, n in enumerate(head["by_level"])
    ]


def report_context(report: SupervisionReport) -> dict:
    return {"report": report, "snap": report.snapshot, "level_rows": level_rows(report.snapshot)}


def report_pdf(report: SupervisionReport) -> bytes:
    """A4 with a header (unit, month, version, publication date or 草稿) and page numbers."""
    from weasyprint import HTML  # imported on use: Pango loads only for a PDF

    html = render_to_string("governance/supervision_pdf.html", report_context(report))
    return HTML(string=html).write_pdf()


def report_xlsx(report: SupervisionReport):
    """One sheet of rows (section, item, figures): every figure the report shows."""
    snap = report.snapshot
    head = snap["headline"]
    rows = [("概况", "支部总数", head["total"], None, None, None)]
    rows += [
        ("概况", f"{level}星支部", n, None, None, None) for level, n in enumerate(head["by_level"])
    ]
    rows += [
        ("概况", "平均星级", head["average"], None, None, None),
        ("概况", "三星及以上占比(%)", head["share_3plus"], None, None, None),
        (
            "概况",
            "较上月三星及以上占比变化",
            head["vs_last_month"]["share_delta"],
            None,
            None,
            None,
        ),
        (
            "概况",
            "较上年12月三星及以上占比变化",
            head["vs_december"]["share_delta"],
            None,
            None,
            None,
        ),
    ]
    rows += [
        (
            "下级排名",
            row["name"],
            row["average"],
            row["share_3plus"],
            row["completeness"],
            row["total"],
        )
        for row in snap["ranking"]
    ]
    for key, title in (("gained", "升星支部"), ("lost", "降星支部")):
        rows += [
            (title, f"{item['township']} {item['name']}", item["from"], item["to"], None, None)
            for item in snap[key]["items"]
        ]
    for key, title in (("zero", "零星支部"), ("vetoed", "一票否决支部")):
        rows += [
            (title, f"{item['township']} {item['name']}", None, None, None, None)
            for item in snap[key]["items"]
        ]
    sub = snap["submission"]
    rows += [
        ("报送情况", row["name"], row["submitted"], row["late"], row["missing"], row["expected"])
        for row in sub["children"]
    ]
    for key, title in (("late", "逾期报送支部"), ("missing", "未报送支部")):
        rows += [
            (title, f"{item['township']} {item['name']}", None, None, None, None)
            for item in sub[key]["items"]
        ]
    rows += [
        ("未达标最多的指标", f"{row['star_name']} {row['title']}", row["count"], None, None, None)
        for row in snap["missed_criteria"]
    ]
    rect = snap["rectification"]
    rows += [
        ("整改情况", title, rect[key], None, None, None)
        for key, title in (
            ("opened", "本月新开"),
            ("open", "待整改/整改中"),
            ("closed", "已整改"),
            ("verified", "已验证"),
            ("overdue", "逾期"),
        )
    ]
    rows.append(("整改情况", "已整改但仍未达标", rect["still_failing"]["count"], None, None, None))
    # Records-app metrics: the average over the branches with a value, how many, of how many.
    for section in snap.get("metric_sections", []):
        title = f"{section['title']}({section['unit']})" if section["unit"] else section["title"]
        rows += [
            (title, row["name"], row["average"], row["counted"], row["branches"], None)
            for row in [section["overall"], *section["rows"]]
        ]
    columns = [
        Column("栏目"),
        Column("项目"),
        Column("数值一", NUMBER),
        Column("数值二", NUMBER),
        Column("数值三", NUMBER),
        Column("数值四", NUMBER),
    ]
    return xlsx_file(Table(columns=columns, rows=rows), title="督导通报")
