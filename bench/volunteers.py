"""Benchmark: the volunteers metrics, balances and leaderboard at county scale.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/fs_vol .venv/bin/python bench/volunteers.py

Seeds (once; BENCH_RESEED=1 to redo) the demo county hierarchy (about 300 rated branches,
no monthly values) and, with COPY, 30,000 volunteers, 900 teams, 40,000 activities this
year, 200,000 attendance rows (95 % confirmed) and the matching ledger (an EARNED entry per
confirmed row, a redemption for a third of the volunteers), balance rows and the year-hours
rollup. Then times: every registered volunteers metric for all branches year to date (target
<= 1 s each), the balance of every volunteer from the balance rows and from the ledger sum
(<= 1 s), and the leaderboard page for the county leader and a township's staff (server
time, median of BENCH_REPEAT requests after one warm-up; target <= 100 ms). Last line: summary: ...
"""

import io
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from branches.demo.hierarchy import demo_seed  # noqa: E402
from branches.metrics import Window, registry  # noqa: E402
from branches.models import OrgUnit  # noqa: E402
from governance.models import User  # noqa: E402
from volunteers.models import (  # noqa: E402
    Activity,
    Attendance,
    Membership,
    PointsBalance,
    PointsEntry,
    Team,
    Volunteer,
    YearHours,
)
from volunteers.services.activities import year_hours_refresh  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "10"))
VOLUNTEERS = 30_000
ATTENDANCE = 200_000
PER_ACTIVITY = 5
TODAY = timezone.localdate()
YEAR = TODAY.year
LAST_MONTH = max(TODAY.month - 1, 1)
RATE = settings.VOLUNTEER_POINTS_PER_HOUR


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def copy(model, columns: list[str], rows) -> int:
    """COPY the rows (tuples in column order) into the model's table."""
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
        count += 1
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN", buffer)
    return count


def next_id(model) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}")
        return cursor.fetchone()[0]


def seed() -> None:
    call_command("migrate", verbosity=0)
    if OrgUnit.objects.rated().count() < 250 or os.environ.get("BENCH_RESEED"):
        demo_seed(scale="county", reset=True)
    elif Attendance.objects.count() >= ATTENDANCE:
        if not YearHours.objects.exists():
            year_hours_refresh()
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {YearHours._meta.db_table}")
        return
    rng = random.Random(12)
    branches = list(OrgUnit.objects.rated().values_list("id", flat=True))
    staff = User.objects.filter(role=User.Role.TOWNSHIP_STAFF).first()
    now = timezone.now().isoformat()
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for model in (
            YearHours,
            PointsEntry,
            PointsBalance,
            Attendance,
            Activity,
            Membership,
            Team,
            Volunteer,
        ):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")

    first_volunteer = next_id(Volunteer)
    per_branch = VOLUNTEERS // len(branches)
    volunteers = []  # (id, unit)
    rows = []
    vid = first_volunteer
    for unit in branches:
        for _n in range(per_branch):
            party = rng.random() < 0.4
            service = party and rng.random() < 0.4
            rows.append(
                (
                    vid,
                    unit,
                    f"志愿者{vid}",
                    f"139{vid:08d}",
                    party,
                    service,
                    "",
                    "2025-06-01",
                    True,
                    now,
                )
            )
            volunteers.append((vid, unit))
            vid += 1
    copy(
        Volunteer,
        [
            "id",
            "unit_id",
            "name",
            "phone",
            "is_party_member",
            "is_in_service_member",
            "skills",
            "joined_on",
            "is_active",
            "created_at",
        ],
        rows,
    )
    by_unit: dict[int, list[int]] = {}
    for volunteer_id, unit in volunteers:
        by_unit.setdefault(unit, []).append(volunteer_id)

    team_id = next_id(Team)
    teams = []  # (id, unit, members)
    team_rows, member_rows = [], []
    for unit in branches:
        people = by_unit[unit]
        for colour, name in (
            ("RED", "红色宣讲队"),
            ("YELLOW", "黄色保洁队"),
            ("PURPLE", "紫色关爱队"),
        ):
            members = rng.sample(people, min(len(people), 40))
            team_rows.append((team_id, unit, name, colour, "综合", members[0], True, None, now))
            member_rows.extend((team_id, v, "2025-06-01") for v in members)
            teams.append((team_id, unit, members))
            team_id += 1
    copy(
        Team,
        [
            "id",
            "unit_id",
            "name",
            "colour",
            "domain",
            "leader_id",
            "is_active",
            "disbanded_on",
            "created_at",
        ],
        team_rows,
    )
    copy(Membership, ["team_id", "volunteer_id", "joined_on"], member_rows)

    activity_id = next_id(Activity)
    attendance_id = next_id(Attendance)
    activity_rows, attendance_rows, earned = [], [], []
    days = (date(YEAR, LAST_MONTH, 28) - date(YEAR, 1, 1)).days
    for _n in range(ATTENDANCE // PER_ACTIVITY):
        team, unit, members = rng.choice(teams)
        day = date(YEAR, 1, 1) + timedelta(days=rng.randint(0, days))
        activity_rows.append(
            (
                activity_id,
                team,
                "志愿服务",
                "CARE",
                day,
                "09:00",
                "11:00",
                unit,
                rng.randint(5, 60),
                "",
                staff.pk,
                now,
            )
        )
        for volunteer in rng.sample(members, PER_ACTIVITY):
            confirmed = rng.random() < 0.95
            hours = rng.choice((1, 1.5, 2, 3))
            at = datetime.combine(day + timedelta(days=2), datetime.min.time()).isoformat() + "+08"
            attendance_rows.append(
                (
                    attendance_id,
                    activity_id,
                    volunteer,
                    hours,
                    "CONFIRMED" if confirmed else "PENDING",
                    staff.pk if confirmed else None,
                    at if confirmed else None,
                    "",
                )
            )
            if confirmed:
                earned.append(
                    (
                        volunteer,
                        "EARNED",
                        round(hours * RATE),
                        "服务时长",
                        None,
                        attendance_id,
                        staff.pk,
                        at,
                    )
                )
            attendance_id += 1
        activity_id += 1
    copy(
        Activity,
        [
            "id",
            "team_id",
            "title",
            "kind",
            "date",
            "start_time",
            "end_time",
            "place_id",
            "people_served",
            "description",
            "created_by_id",
            "created_at",
        ],
        activity_rows,
    )
    copy(
        Attendance,
        [
            "id",
            "activity_id",
            "volunteer_id",
            "hours",
            "status",
            "confirmed_by_id",
            "confirmed_at",
            "reject_reason",
        ],
        attendance_rows,
    )
    balances: dict[int, int] = {}
    for entry in earned:
        balances[entry[0]] = balances.get(entry[0], 0) + entry[2]
    redeemed = []
    for volunteer, balance in balances.items():
        if balance >= 20 and rng.random() < 0.33:
            spent = rng.randint(10, balance // 2)
            redeemed.append((volunteer, "REDEEMED", -spent, "兑换", None, None, staff.pk, now))
            balances[volunteer] -= spent
    # A merchant per redemption is required: one shared bench merchant.
    from volunteers.models import Merchant

    merchant = Merchant.objects.create(unit_id=branches[0], name="基准商家", offer="日用品")
    redeemed = [(*r[:4], merchant.pk, *r[5:]) for r in redeemed]
    copy(
        PointsEntry,
        [
            "volunteer_id",
            "kind",
            "points",
            "reason",
            "merchant_id",
            "attendance_id",
            "created_by_id",
            "created_at",
        ],
        [*earned, *redeemed],
    )
    copy(
        PointsBalance,
        ["volunteer_id", "balance", "updated_at"],
        ((v, balances.get(v, 0), now) for v, _unit in volunteers),
    )
    year_hours_refresh()
    with connection.cursor() as cursor:
        for model in (Volunteer, Team, Activity, Attendance, PointsEntry):
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
        cursor.execute("VACUUM ANALYZE")
    print(
        f"seeded {len(volunteers):,} volunteers, {len(activity_rows):,} activities, "
        f"{len(attendance_rows):,} attendance rows, {len(earned) + len(redeemed):,} ledger "
        f"entries in {time.perf_counter() - start:.1f} s"
    )


def server_ms(client: Client, url: str) -> float:
    client.get(url)
    times = []
    for _run in range(REPEAT):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times)


def main():
    if connection.vendor != "postgresql":
        sys.exit("bench/volunteers.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    seed()
    settings.ALLOWED_HOSTS = ["*"]
    branch_ids = list(OrgUnit.objects.rated().values_list("id", flat=True))
    window = Window(YEAR, 1, LAST_MONTH)
    print(
        f"\n{len(branch_ids)} branches, {Attendance.objects.count():,} attendance rows, "
        f"{PointsEntry.objects.count():,} ledger entries; window {YEAR}-01..{LAST_MONTH:02d}\n"
    )
    worst = 0.0
    keys = registry.keys()
    for key in [k for k in keys if k.startswith("volunteers.")]:
        registry.compute(key, window, branch_ids)  # warm-up
        seconds, values = timed(registry.compute, key, window, branch_ids)
        worst = max(worst, seconds)
        known = [v for v in values.values() if v is not None]
        print(f"{key:<40} {seconds * 1000:7.1f} ms   ({len(known)} branches with a value)")
    balance_s, balances = timed(
        lambda: dict(PointsBalance.objects.values_list("volunteer_id", "balance"))
    )
    ledger_s, sums = timed(
        lambda: dict(
            PointsEntry.objects.values("volunteer_id")
            .annotate(s=Sum("points"))
            .values_list("volunteer_id", "s")
        )
    )
    mismatched = sum(1 for v, s in sums.items() if balances.get(v) != s)
    print(
        f"\nbalance of every volunteer ({len(balances):,}): "
        f"balance rows {balance_s * 1000:.1f} ms, "
        f"ledger sums {ledger_s * 1000:.1f} ms, mismatches {mismatched}"
    )
    figures = {}
    for label, user in (
        ("county leader", User.objects.filter(role=User.Role.LEADER, unit__depth=3).first()),
        ("township staff", User.objects.filter(role=User.Role.TOWNSHIP_STAFF).first()),
    ):
        client = Client()
        client.force_login(user)
        for period in ("month", "year"):
            ms = server_ms(client, f"/volunteers/leaderboard/?period={period}")
            figures[(label, period)] = ms
            print(f"leaderboard {label:<15} {period:<5} {ms:6.1f} ms")
    board = max(figures.values())
    print(
        f"summary: worst metric {worst * 1000:.0f} ms (target 1000), balances "
        f"{balance_s * 1000:.0f} ms / ledger {ledger_s * 1000:.0f} ms (target 1000), "
        f"leaderboard worst {board:.0f} ms (target 100)"
    )


if __name__ == "__main__":
    main()
