from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from branches.models import BranchRating, OrgUnit, Rating, StarAssessment
from branches.services.recompute import ratings_recompute
from branches.services.workflow import parse_period
from governance.database import statistics_refresh


class Command(BaseCommand):
    help = "重算星级评定 / Recompute star assessments for a month (or the annual rating)."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="月份 YYYY-MM（年度评定时取其年份）")
        parser.add_argument("--under", help="只重算该单位编码下的支部")
        parser.add_argument("--annual", action="store_true", help="重算该年度的年度评定")

    def handle(self, *args, period, under, annual, **options):
        try:
            month = parse_period(period)
        except ValidationError as error:
            raise CommandError(error.messages[0]) from None
        unit = None
        if under:
            unit = OrgUnit.objects.filter(code=under).first()
            if unit is None:
                raise CommandError(f"找不到编码为 {under} 的单位。")
        result = ratings_recompute(
            period=month, kind=Rating.ANNUAL if annual else Rating.MONTHLY, under=unit
        )
        statistics_refresh(StarAssessment, BranchRating, rows=result.written)
        self.stdout.write(
            f"{result.period} {result.kind}: {result.branches} 个支部，"
            f"写入 {result.written} 行，未变 {result.unchanged} 行"
            + (f"，{result.without_criteria} 个支部缺少指标体系" if result.without_criteria else "")
        )
