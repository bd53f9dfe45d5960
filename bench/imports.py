"""Bounded imports: wall time and peak memory of hostile and realistic uploads, both import paths.

    .venv/bin/python bench/imports.py          # SQLite, /tmp/bench_imports.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fivestar_imports \
        .venv/bin/python bench/imports.py

It migrates the database named by DATABASE_URL (default: a scratch SQLite file), DELETES its
hierarchy and seeds the county demo, then uploads each file through its page (the hierarchy
import page, the township month sheet page) and the hierarchy file also through
`manage.py import_units`, each case in a fresh subprocess whose peak RSS is read from
wait4(). Valid files are imported inside a transaction that is rolled back, so the cases
do not depend on each other. Target for every case: refused or imported within 10 s and
300 MB peak RSS. Exits 1 when a target is missed.
"""

import csv
import io
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/bench_imports.sqlite3")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")

import django  # noqa: E402

django.setup()

import openpyxl  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from openpyxl.utils import get_column_letter  # noqa: E402

from branches.demo.hierarchy import Scale, demo_seed  # noqa: E402
from branches.models import OrgUnit  # noqa: E402
from branches.services.criteria import criteria_defaults_load  # noqa: E402
from branches.services.unit_import import UNIT_COLUMNS  # noqa: E402
from branches.spreadsheets import month_sheet  # noqa: E402

TARGET_S = 10
TARGET_MB = 300
WIDE = 250
BENCH_USER = "bench_imports_admin"


def _hostile_csv(limit: int) -> bytes:
    """Rows of 250 one-digit cells under a valid header, just under the upload limit."""
    header = ",".join(c.label for c in UNIT_COLUMNS)
    row = ",".join("1" for _ in range(WIDE)) + "\r\n"
    count = (limit - len(header) - 10) // len(row)
    return (header + "\r\n" + row * count).encode()


def _xlsx_with_sheets(sheets: dict[str, tuple[list[str], object]], *, dimension=True) -> bytes:
    """A workbook whose sheet XML is written directly: openpyxl would take minutes."""
    skeleton = openpyxl.Workbook()
    skeleton.active.title = next(iter(sheets))
    for title in list(sheets)[1:]:
        skeleton.create_sheet(title)
    buffer = io.BytesIO()
    skeleton.save(buffer)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            if item.filename.startswith("xl/worksheets/sheet"):
                index = int(item.filename.removeprefix("xl/worksheets/sheet").split(".")[0])
                header, rows = list(sheets.values())[index - 1]
                with target.open(item.filename, "w") as member:
                    _write_sheet(member, header, rows, dimension=dimension)
            else:
                target.writestr(item, source.read(item))
    return out.getvalue()


def _write_sheet(member, header: list[str], rows, *, dimension: bool) -> None:
    rows = list(rows)
    width = max([len(header), *(len(r) for r in rows)])
    # Excel declares the used range first; `dimension=False` leaves it out, as a hostile file.
    declared = f'<dimension ref="A1:{get_column_letter(width)}{len(rows) + 1}"/>'
    member.write(
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org'
        b'/spreadsheetml/2006/main">' + (declared.encode() if dimension else b"") + b"<sheetData>"
    )
    cells = "".join(
        f'<c r="{get_column_letter(i + 1)}1" t="inlineStr"><is><t>{text}</t></is></c>'
        for i, text in enumerate(header)
    )
    member.write(f'<row r="1">{cells}</row>'.encode())
    for number, values in enumerate(rows, start=2):
        parts = []
        for i, value in enumerate(values):
            ref = f"{get_column_letter(i + 1)}{number}"
            if isinstance(value, str):
                parts.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
            elif value is not None:
                # Without the optional cell reference, as some generators write it.
                parts.append(f"<c><v>{value}</v></c>")
        member.write(f'<row r="{number}">{"".join(parts)}</row>'.encode())
    member.write(b"</sheetData></worksheet>")


def _wide_rows(rng, count, prefix=()):
    """Mostly 1s, one cell in ten a random digit: about as compressible as the reported file."""
    for _ in range(count):
        cells = (rng.randrange(10) if rng.random() < 0.1 else 1 for _ in range(WIDE - len(prefix)))
        yield [*prefix, *cells]


def _hostile_xlsx(header, rows_for, sheet="Sheet", unpacked=240 * 1024 * 1024, **kw) -> bytes:
    """250-column rows until the sheet XML unpacks to about `unpacked` bytes."""
    per_row = len("<c><v>9</v></c>") * WIDE + len('<row r="12345"></row>')
    return _xlsx_with_sheets({sheet: (header, rows_for(unpacked // per_row))}, **kw)


def _valid_hierarchy_csv(county: OrgUnit, rows: int) -> bytes:
    """Townships of 49 villages under the county: `rows` new units, all valid."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.label for c in UNIT_COLUMNS])
    written, township = 0, 0
    while written < rows:
        township += 1
        t_code = f"{county.code}{900 + township:03d}"
        writer.writerow([t_code, f"测试镇{township}", "乡镇", county.code, "", "", "", "", 0, 0])
        written += 1
        for village in range(1, 50):
            if written >= rows:
                break
            code, name = f"{t_code}{village:03d}", f"测试村{village}"
            writer.writerow(
                [code, name, "村", t_code, "农村", "党支部", f"{name}党支部", "张三", 30, 500]
            )
            written += 1
    return out.getvalue().encode("utf-8-sig")


def _filled_month_sheet(user, unit, period) -> tuple[bytes, int]:
    """The unit's month sheet as downloaded, with every empty criterion cell filled in."""
    workbook = openpyxl.load_workbook(
        month_sheet.report_sheet_file(user=user, unit=unit, period=period)
    )
    rows = 0
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(min_row=2):
            rows += 1
            for cell in row[month_sheet.FIXED_COLUMNS :]:
                if cell.value is None:
                    dv = [
                        d
                        for d in sheet.data_validations.dataValidation
                        if cell.coordinate in d.sqref
                    ]
                    cell.value = "是" if dv and dv[0].type == "list" else 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), rows


def build(folder: Path) -> list[tuple[str, str, Path]]:
    """Seed the database and write the files; (case, path kind, file) for each case."""
    call_command("migrate", interactive=False, verbosity=0)
    demo_seed(scale=Scale.COUNTY, reset=True)
    User = get_user_model()
    User.objects.filter(username=BENCH_USER).delete()
    User.objects.create_superuser(BENCH_USER, password=None, role=User.Role.ADMIN)
    period = timezone.localdate().replace(day=1)
    criteria_defaults_load(year=period.year)
    county = OrgUnit.objects.get(level=OrgUnit.Level.COUNTY)
    limit = settings.UPLOAD_MAX_BYTES - 1024
    rng = random.Random(7)
    files = {}

    files["hierarchy_valid.csv"] = _valid_hierarchy_csv(county, 20_000)
    files["hierarchy_wide.csv"] = _hostile_csv(limit)
    files["hierarchy_wide.xlsx"] = _hostile_xlsx(
        [c.label for c in UNIT_COLUMNS], lambda n: _wide_rows(rng, n)
    )
    files["hierarchy_wide_nodim.xlsx"] = _hostile_xlsx(
        [c.label for c in UNIT_COLUMNS], lambda n: _wide_rows(rng, n), dimension=False
    )
    # Valid-looking 10-column rows up to the byte limit: the cell cap's worst case.
    many = _valid_hierarchy_csv(county, 400_000)
    files["hierarchy_long.csv"] = many[: many.rindex(b"\n", 0, limit) + 1]
    long_rows = list(csv.reader(io.StringIO(many.decode("utf-8-sig"))))
    files["hierarchy_long.xlsx"] = _xlsx_with_sheets(
        {"Sheet": (long_rows[0], long_rows[1:150_001])}
    )

    user = User.objects.get(username=BENCH_USER)
    files["month_valid.xlsx"], branch_rows = _filled_month_sheet(user, county, period)
    downloaded = openpyxl.load_workbook(io.BytesIO(files["month_valid.xlsx"]), read_only=True)
    first = downloaded.worksheets[0]
    header = [c.value for c in next(first.iter_rows(max_row=1))]
    branch = next(first.iter_rows(min_row=2, max_row=2, values_only=True))
    files["month_wide.xlsx"] = _hostile_xlsx(
        header, lambda n: _wide_rows(rng, n, prefix=branch[:4]), sheet=first.title
    )
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    print(f"month sheet of {county.name}: {branch_rows} branch rows")
    for name, path in paths.items():
        extra = ""
        if name.endswith(".xlsx"):
            with zipfile.ZipFile(path) as archive:
                unpacked = sum(i.file_size for i in archive.infolist())
            extra = f", {unpacked / 1e6:.0f} MB unpacked"
        print(f"  {name}: {path.stat().st_size / 1e6:.2f} MB{extra}")
    month = f"{period:%Y-%m}"
    return [
        ("hierarchy page, 20,000 valid rows (CSV)", "unit_page", paths["hierarchy_valid.csv"]),
        ("hierarchy page, 250-column rows (CSV)", "unit_page", paths["hierarchy_wide.csv"]),
        ("hierarchy page, 250-column rows (XLSX)", "unit_page", paths["hierarchy_wide.xlsx"]),
        (
            "hierarchy page, 250-column rows, no <dimension> (XLSX)",
            "unit_page",
            paths["hierarchy_wide_nodim.xlsx"],
        ),
        (
            "hierarchy page, 10-column rows to the byte limit",
            "unit_page",
            paths["hierarchy_long.csv"],
        ),
        (
            "hierarchy page, 150,000 10-column rows (XLSX)",
            "unit_page",
            paths["hierarchy_long.xlsx"],
        ),
        ("import_units, 250-column rows (CSV)", "command", paths["hierarchy_wide.csv"]),
        ("import_units, 250-column rows (XLSX)", "command", paths["hierarchy_wide.xlsx"]),
        (
            f"month sheet page, {branch_rows} branches filled",
            f"sheet:{county.code}:{month}",
            paths["month_valid.xlsx"],
        ),
        (
            "month sheet page, 250-column rows (XLSX)",
            f"sheet:{county.code}:{month}",
            paths["month_wide.xlsx"],
        ),
    ]


def run_case(kind: str, path: Path) -> str:
    """In the subprocess: one upload, rolled back; returns what the user was told."""
    # Records the rendered context, which says what the page told the user.
    setup_test_environment()
    with transaction.atomic():
        if kind == "command":
            err = io.StringIO()
            try:
                call_command("import_units", str(path), stdout=io.StringIO(), stderr=err)
                outcome = "imported"
            except Exception as error:  # CommandError: the refusal, which is the point
                outcome = f"refused: {error}"
        else:
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(get_user_model().objects.get(username=BENCH_USER))
            if kind == "unit_page":
                url = reverse("branches:unit_import")
            else:
                _sheet, code, month = kind.split(":")
                url = reverse("branches:report_sheet_upload", args=[code, month])
            upload = SimpleUploadedFile(path.name, path.read_bytes())
            response = client.post(url, {"file": upload})
            outcome = _outcome(response)
        transaction.set_rollback(True)
    return outcome


def _outcome(response) -> str:
    if response.status_code == 302:
        return "imported: " + "; ".join(str(m) for m in response.wsgi_request._messages)
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    context = response.context
    form, result = context["form"], context.get("result")
    if form.errors:
        return "refused: " + "; ".join(e for errors in form.errors.values() for e in errors)
    if result is not None and result.errors:
        more = " (更多错误未列出)" if result.more_errors else ""
        return f"refused: {len(result.errors)} errors{more}, first: {result.errors[0]}"
    return "?"


def _peak_kb() -> int:
    """This process's peak RSS (VmHWM): unlike ru_maxrss it does not carry over from the
    parent through fork and exec."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--case":
        outcome = run_case(sys.argv[2], Path(sys.argv[3]))
        print(f"{_peak_kb()}\n{outcome}")
        return 0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; load average {load}")
    print(
        f"limits: upload {settings.UPLOAD_MAX_BYTES / 1e6:.1f} MB, "
        f"{settings.IMPORT_MAX_ROWS:,} rows, {settings.IMPORT_MAX_CELLS:,} cells"
    )
    missed = []
    with tempfile.TemporaryDirectory() as folder:
        cases = build(Path(folder))
        connection.close()
        for label, kind, path in cases:
            started = time.perf_counter()
            child = subprocess.Popen(
                [sys.executable, __file__, "--case", kind, str(path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            out = child.stdout.read().strip().splitlines()
            _pid, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - started
            cpu = usage.ru_utime + usage.ru_stime
            if status or len(out) < 2:
                mb, outcome = float("nan"), f"exit status {status}"
            else:
                mb, outcome = int(out[-2]) / 1024, out[-1]
            print(
                f"{label}: {seconds:.1f} s wall, {cpu:.1f} s CPU, {mb:.0f} MB peak RSS"
                f" -> {outcome[:150]}"
            )
            if seconds > TARGET_S or not mb <= TARGET_MB or status:
                missed.append(f"{label} ({seconds:.1f} s, {mb:.0f} MB)")
    print(
        f"{len(cases)} cases, targets {TARGET_S} s and {TARGET_MB} MB: "
        + ("missed by " + "; ".join(missed) if missed else "all met")
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
