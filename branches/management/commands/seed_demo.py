"""Seed the demo hierarchy and one login per role: `manage.py seed_demo --scale town`.

Every demo account's password is branches.demo.users.DEMO_PASSWORD (printed at the end).
"""

import time
import unicodedata

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.demo.hierarchy import DEFAULT_SEED, HierarchyNotEmptyError, Scale, demo_seed
from branches.demo.values import demo_values_seed
from branches.models import OrgUnit
from branches.services.criteria import criteria_defaults_load


class Command(BaseCommand):
    help = _(
        "生成演示数据：河南省的组织层级（town 一个街道，county 一个县，"
        "province 全省约 5.1 万个村(社区)）和每种角色一个演示账号。"
        "同一个 --seed 总是生成同样的数据。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", required=True, choices=Scale.values, help=_("数据规模"))
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=_("随机种子（默认 %(default)s）")
        )
        parser.add_argument(
            "--no-values",
            action="store_true",
            help=_("不生成月度填报数据和星级（province 规模默认不生成）"),
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=_("先删除现有的全部组织单位、其历史记录以及在其中工作的账号"),
        )

    def handle(self, *args, scale, seed, reset, no_values, **options):
        started = time.perf_counter()
        try:
            result = demo_seed(scale=scale, seed=seed, reset=reset)
        except HierarchyNotEmptyError as exc:
            raise CommandError(
                _("%(error)s要删除现有单位（及其历史记录和账号）后重新生成，请加 --reset。")
                % {"error": exc}
            ) from None
        seconds = time.perf_counter() - started

        self.stdout.write(
            _("已生成演示数据（规模 %(scale)s，种子 %(seed)d，用时 %(seconds).1f 秒）：")
            % {"scale": Scale(scale).label, "seed": seed, "seconds": seconds}
        )
        for level, count in result.unit_counts.items():
            line = f"  {OrgUnit.Level(level).label}: {count}"
            if level == OrgUnit.Level.VILLAGE:
                line += (
                    "（"
                    + "，".join(
                        f"{OrgUnit.AreaType(area).label} {result.rated_counts.get(area, 0)}"
                        for area in OrgUnit.AreaType.values
                    )
                    + "）"
                )
            self.stdout.write(line)

        self._values(scale=scale, seed=seed, skip=no_values)
        self.stdout.write("")
        self.stdout.write(_("演示账号（密码都是 %(password)s）：") % {"password": result.password})
        rows = [(_("用户名"), _("密码"), _("角色"), _("单位"))]
        rows += [
            (
                user.username,
                result.password,
                user.get_role_display(),
                str(user.unit) if user.unit else _("全部（不限单位）"),
            )
            for user in result.users
        ]
        widths = [max(_width(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [_pad(text, width) for text, width in zip(row, widths, strict=False)]
            self.stdout.write("  " + "  ".join([*cells, row[3]]))

    def _values(self, *, scale: str, seed: int, skip: bool) -> None:
        criteria_defaults_load(year=timezone.localdate().year)
        if skip or scale == Scale.PROVINCE:
            self.stdout.write(_("已载入本年度示例评星指标；未生成月度填报数据。"))
            return
        started = time.perf_counter()
        result = demo_values_seed(seed=seed, scale=scale)
        self.stdout.write(
            _(
                "已生成 %(first)s 至 %(last)s 的月度填报 %(reports)d 份、指标值 %(values)d 个、"
                "佐证材料 %(evidence)d 份、流程记录 %(events)d 条，"
                "并计算了星级（用时 %(seconds).1f 秒）。"
            )
            % {
                "first": f"{result.months[0]:%Y-%m}",
                "last": f"{result.months[-1]:%Y-%m}",
                "reports": result.reports,
                "values": result.values,
                "evidence": result.evidence,
                "events": result.events,
                "seconds": time.perf_counter() - started,
            }
        )


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _pad(text: str, width: int) -> str:
    return f"{text}{' ' * (width - _width(text))}"
