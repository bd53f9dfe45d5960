from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from branches.services.unit_import import units_import
from branches.spreadsheets.reading import SpreadsheetError, more_errors_message, read_table


class Command(BaseCommand):
    help = "从 CSV 或 Excel（.xlsx）文件导入组织架构；有任何错误时不导入，并列出每处错误。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="层级表文件（.csv 或 .xlsx），第1行为列名")

    def handle(self, *args, file, **options):
        path = Path(file)
        try:
            with path.open("rb") as uploaded:
                header, rows = read_table(uploaded, filename=path.name)
        except OSError as error:
            raise CommandError(f"无法打开文件 {path}：{error.strerror}") from None
        except SpreadsheetError as error:
            raise CommandError(str(error)) from None
        result = units_import(header=header, rows=rows)
        if not result.ok:
            for error in result.errors:
                self.stderr.write(str(error))
            if result.more_errors:
                self.stderr.write(more_errors_message())
                raise CommandError(f"发现超过 {len(result.errors)} 处错误，没有导入任何单位。")
            raise CommandError(f"发现 {len(result.errors)} 处错误，没有导入任何单位。")
        self.stdout.write(
            self.style.SUCCESS(
                f"导入完成：新建 {result.created} 个，更新 {result.updated} 个，"
                f"没有变化 {result.unchanged} 个。"
            )
        )
