"""Reading uploaded spreadsheets (.csv, .xlsx) safely into plain rows of text.

Used by the hierarchy import and the monthly scorecard upload. Every refusal is a
`SpreadsheetError` whose message tells the user what to do.
"""

import contextlib
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

# An .xlsx member that unpacks to more than this many times its packed size is a zip
# bomb: real worksheets compress 5-30 times. Small members (styles, empty sheets) may
# compress better and are harmless, so the ratio applies only above MIN_BOMB_MEMBER_BYTES.
MAX_COMPRESSION_RATIO = 100
MIN_BOMB_MEMBER_BYTES = 1024 * 1024
# A workbook holds a few dozen parts; thousands of members only cost time to list.
MAX_ZIP_MEMBERS = 1000
# Where a worksheet part must declare its <dimension>: openpyxl looks for it when it opens
# the workbook and, without one, parses the whole sheet to find none (minutes for 250 MB).
# Excel, WPS, LibreOffice and openpyxl write it in the first few hundred bytes.
DIMENSION_WITHIN_BYTES = 64 * 1024
_WORKSHEET_TAG = re.compile(rb"<(?:\w+:)?worksheet[\s>]")
_DIMENSION_TAG = re.compile(rb"<(?:\w+:)?dimension[\s/>]")
# Wider rows than this are not tables anyone typed in.
MAX_COLUMNS = 256
# Errors collected per import: the first ones are what a user fixes first, and collecting
# millions (one per cell of a hostile file) cost gigabytes.
MAX_ERRORS = 200

Header = list[str]
Rows = Iterator[tuple[int, list[str]]]


class SpreadsheetError(Exception):
    """The uploaded file cannot be read as a table; the message says why and what to do."""


class TooManyErrors(Exception):
    """Raised by `ErrorList` when it is full: the import stops there."""


class ErrorList(list):
    """An import's errors, at most MAX_ERRORS of them; one more stops the import.

    Not counted further ("更多错误未列出" rather than "另有 N 处"): counting would mean
    reading and checking the rest of the file, which is the very work the cap bounds.
    """

    def append(self, error) -> None:
        if len(self) >= MAX_ERRORS:
            raise TooManyErrors
        super().append(error)


def more_errors_message() -> str:
    return _("更多错误未列出：发现 %(max)s 处错误后已停止检查。请先改正以上错误，再重新上传。") % {
        "max": MAX_ERRORS
    }


def read_table(uploaded_file, *, filename: str) -> tuple[Header, Rows]:
    """The header (row 1) and an iterator over the non-blank data rows with their row numbers.

    The header is read at once, so that callers can refuse the columns before any row is
    read; the rows are read as they are iterated and may raise SpreadsheetError when the
    file passes a limit (rows, cells) on the way. Cells are stripped text; numbers that are
    whole read as integers ("35", not "35.0"). Formula cells of an .xlsx come back as their
    formula text ("=SUM(A1:A3)") so that callers can refuse them. Rows are padded to the
    header's width; cells beyond it are kept when they hold something, so callers can report
    data without a column name.
    """
    data = _read_bytes(uploaded_file)
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        table = _csv_rows(data)
    elif suffix == ".xlsx":
        table = _xlsx_rows(data)
    elif suffix == ".xls":
        raise SpreadsheetError(
            _("不支持旧版 Excel 文件（.xls），请在 Excel 中“另存为” .xlsx 或 CSV 后再上传。")
        )
    else:
        raise SpreadsheetError(
            _("无法识别文件“%(name)s”的格式，请上传 Excel 文件（.xlsx）或 CSV 文件（.csv）。")
            % {"name": filename}
        )
    header, rows = _split(table)
    if header is None:
        raise SpreadsheetError(_("文件是空的，请检查是否选错了文件。"))
    if not header:
        raise _no_header()
    return header, rows


def _read_bytes(uploaded_file) -> bytes:
    limit = settings.UPLOAD_MAX_BYTES
    too_large = SpreadsheetError(
        _("文件超过 %(mb)s MB 的上限，请删除不需要的工作表或拆分成多个文件后再上传。")
        % {"mb": round(limit / 1024 / 1024, 1)}
    )
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > limit:
        raise too_large
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(limit + 1)
    if len(data) > limit:
        raise too_large
    if not data:
        raise SpreadsheetError(_("文件是空的，请检查是否选错了文件。"))
    return data


def _csv_rows(data: bytes):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SpreadsheetError(
            _("无法识别 CSV 文件的文字编码，请在 Excel 中“另存为”“CSV UTF-8（逗号分隔）”后再上传。")
        )
    try:
        # A spreadsheet shows one CSV record per row, even when a quoted cell spans lines.
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise SpreadsheetError(
            _("CSV 文件格式有误（%(detail)s），请用 Excel 打开检查后重新保存为 CSV。")
            % {"detail": exc}
        ) from None


def _not_xlsx() -> SpreadsheetError:
    return SpreadsheetError(
        _(
            "文件不是有效的 Excel（.xlsx）文件，可能已损坏或只是改了扩展名。"
            "请用 Excel 打开后“另存为” .xlsx 再上传。"
        )
    )


def _load_xlsx(data: bytes):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _not_xlsx() from None
    _check_zip_bomb(archive)
    try:
        return openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=False, keep_links=False
        )
    except Exception:
        # openpyxl raises many types on malformed input (InvalidFileException, KeyError,
        # ValueError, XML errors from defusedxml ...); to the user they all mean the same.
        raise _not_xlsx() from None


@contextlib.contextmanager
def _open_xlsx(data: bytes):
    workbook = _load_xlsx(data)
    try:
        yield workbook
    finally:
        workbook.close()


def _sheet_rows(sheet):
    try:
        # The declared dimensions may be wrong or hostile (A1:XFD1048576); without them
        # openpyxl yields each row only as wide as its last cell. The cell cap in
        # `_data_rows` bounds the rows a lying dimension hides.
        sheet.reset_dimensions()
        yield from sheet.iter_rows(values_only=True)
    except Exception:
        raise _not_xlsx() from None


def _xlsx_rows(data: bytes):
    with _open_xlsx(data) as workbook:
        yield from _sheet_rows(workbook.worksheets[0])


def read_workbook(uploaded_file, *, filename: str) -> list[tuple[str, Header, Rows]]:
    """Every non-empty worksheet of an .xlsx as (title, header, rows), like `read_table`.

    For uploads whose worksheets mean something (one per area type); errors name the sheet.
    The headers are read here, the rows as they are iterated; the workbook stays open
    until the last iterator is dropped (it is read from memory, so no file stays open).
    """
    suffix = Path(filename).suffix.lower()
    if suffix != ".xlsx":
        raise SpreadsheetError(
            _("请上传 Excel 文件（.xlsx），收到的是“%(name)s”。") % {"name": filename}
        )
    data = _read_bytes(uploaded_file)
    tables = []
    workbook = _load_xlsx(data)
    for sheet in workbook.worksheets:
        try:
            header, rows = _split(_sheet_rows(sheet))
            if not header and next(rows, None) is not None:
                # An empty sheet is skipped, data under no header is not.
                raise _no_header()
        except SpreadsheetError as error:
            raise sheet_error(sheet.title, error) from None
        if header:
            tables.append((sheet.title, header, rows))
    if not tables:
        raise SpreadsheetError(_("文件是空的，请检查是否选错了文件。"))
    return tables


def sheet_error(title: str, error: SpreadsheetError) -> SpreadsheetError:
    if str(error).startswith(_("工作表“%(sheet)s”：") % {"sheet": title}):
        return error
    return SpreadsheetError(_("工作表“%(sheet)s”：%(error)s") % {"sheet": title, "error": error})


def _check_zip_bomb(archive: zipfile.ZipFile) -> None:
    """Refuse an archive by its declared sizes before anything is unpacked.

    The declared sizes can be trusted as an upper bound: zipfile stops reading a member
    at its declared size and fails its CRC check if there was more.
    """
    bomb = SpreadsheetError(
        _("Excel 文件解压后异常巨大，疑似恶意文件，已拒绝。如确为正常文件，请另存为 CSV 后上传。")
    )
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise bomb
    total = 0
    for member in members:
        total += member.file_size
        if (
            member.file_size > MIN_BOMB_MEMBER_BYTES
            and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
        ):
            raise bomb
    if total > settings.SPREADSHEET_MAX_UNPACKED_BYTES:
        raise bomb
    for member in members:
        if member.file_size > MIN_BOMB_MEMBER_BYTES and not _declares_dimension(archive, member):
            raise SpreadsheetError(
                _(
                    "Excel 文件的工作表缺少尺寸信息，可能不是由 Excel 保存的。"
                    "请用 Excel 或 WPS 打开后“另存为” .xlsx 再上传。"
                )
            )


def _declares_dimension(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """False for a large worksheet without <dimension> near its start; True otherwise.

    Only the first DIMENSION_WITHIN_BYTES are unpacked, so the check costs nothing.
    """
    try:
        with archive.open(member) as part:
            start = part.read(DIMENSION_WITHIN_BYTES)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError):
        raise _not_xlsx() from None
    return not _WORKSHEET_TAG.search(start) or bool(_DIMENSION_TAG.search(start))


def _no_header() -> SpreadsheetError:
    return SpreadsheetError(_("第1行应为表头（列名），但它是空的。请在第1行填写列名。"))


def _split(table) -> tuple[Header | None, Rows]:
    """The header (row 1) read now, and a generator of the data rows read on demand.

    The header is None for a table without any row, [] for a blank first row.
    """
    table = iter(table)
    raw = next(table, None)
    if raw is None:
        return None, iter(())
    header = _cells(raw)
    if len(header) > MAX_COLUMNS:
        raise _too_wide(1)
    return header, _data_rows(table, header)


def _cells(raw) -> list[str]:
    cells = [_text(value) for value in raw or ()]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _too_wide(row: int) -> SpreadsheetError:
    return SpreadsheetError(
        _("第%(row)s行超过 %(max)s 列，请删除表格右侧多余的内容后再上传。")
        % {"row": row, "max": MAX_COLUMNS}
    )


def _data_rows(table, header: Header) -> Rows:
    """The non-blank rows after the header, within the limits of rows, columns and cells.

    Cells are counted as read (blank ones too: they cost the reading all the same), so
    a file is refused at the first row past the cap, whatever its dimensions claim.
    """
    max_rows = settings.IMPORT_MAX_ROWS
    max_cells = settings.IMPORT_MAX_CELLS
    cells_read = len(header)
    for number, raw in enumerate(table, start=2):
        if number - 1 > max_rows:
            raise SpreadsheetError(
                _("文件超过 %(max)s 行数据的上限，请拆分成多个文件后分别导入。") % {"max": max_rows}
            )
        width = len(raw or ())
        if width > MAX_COLUMNS and any(_text(value) for value in raw[MAX_COLUMNS:]):
            raise _too_wide(number)
        cells_read += width
        if cells_read > max_cells:
            raise SpreadsheetError(
                _(
                    "文件超过 %(max)s 个单元格的上限（读到第%(row)s行时），"
                    "请删除多余的行和列，或拆分成多个文件后分别导入。"
                )
                % {"max": f"{max_cells:,}", "row": number}
            )
        cells = _cells(raw[:MAX_COLUMNS] if width > MAX_COLUMNS else raw)
        if cells:
            cells.extend([""] * (len(header) - len(cells)))
            yield number, cells


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, ArrayFormula):
        return value.text or "="
    if isinstance(value, DataTableFormula):
        # A what-if data table is a formula without text of its own.
        return "=TABLE()"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()
