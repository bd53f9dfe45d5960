"""What an uploaded evidence file's bytes are, whatever its name says.

`content_problem(upload, extension)` answers None when the content is what the extension
claims, or a message saying what is wrong and how to fix it. The magic bytes are identified
by puremagic (pure Python, no system libmagic); each kind also needs its whole signature
(a truncated header is not a file), and an Office Open XML file must name its main part in
its [Content_Types].xml: a plain zip, or a workbook renamed .docx, is refused. Only the
first HEAD_BYTES and that one small zip member are ever read; nothing is unpacked.
"""

import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

import puremagic
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

HEAD_BYTES = 8192
# A [Content_Types].xml lists a few dozen parts in a few kilobytes; more is not Office's.
MAX_CONTENT_TYPES_BYTES = 256 * 1024
# Office files hold dozens of parts, a few thousand with many pictures; listing a zip's
# directory costs time per member (about 2 s for 100,000), so the count is read first.
MAX_ZIP_MEMBERS = 5000
ZIP_END_RECORD = b"PK\x05\x06"
ZIP_END_SEARCH = 22 + 65535  # the end record and the longest comment it may carry
CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"

WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
# Main parts of the OOXML relatives a user might rename, to say what the file really is.
OOXML_MAIN_LABELS = {
    WORD_MAIN: gettext_lazy("Word 文档（.docx）"),
    EXCEL_MAIN: gettext_lazy("Excel 工作簿（.xlsx）"),
    "application/vnd.ms-word.document.macroEnabled.main+xml": gettext_lazy(
        "含宏的 Word 文档（.docm）"
    ),
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": gettext_lazy(
        "含宏的 Excel 工作簿（.xlsm）"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": (
        gettext_lazy("PowerPoint 演示文稿（.pptx）")
    ),
}

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Kind:
    label: object  # lazy text: "PDF 文件"
    magic: frozenset[str]  # the extensions puremagic gives for this content
    signature: bytes  # the bytes the file starts with
    min_size: int  # shorter than this it cannot be a whole file of the kind
    ooxml_main: str = ""  # the content type of the main part, for Office Open XML


PDF = Kind(gettext_lazy("PDF 文件"), frozenset({".pdf"}), b"%PDF-", 8)
PNG = Kind(gettext_lazy("PNG 图片"), frozenset({".png"}), b"\x89PNG\r\n\x1a\n", 33)
JPEG = Kind(
    gettext_lazy("JPEG 图片"), frozenset({".jpg", ".jpeg", ".jpe", ".jfif"}), b"\xff\xd8\xff", 4
)
DOCX = Kind(gettext_lazy("Word 文档（.docx）"), frozenset(), b"PK\x03\x04", 22, WORD_MAIN)
XLSX = Kind(gettext_lazy("Excel 工作簿（.xlsx）"), frozenset(), b"PK\x03\x04", 22, EXCEL_MAIN)
# Compound files start with a 512-byte header sector; which application wrote one is in its
# directory, which is not read here: a .doc and a .xls are both accepted as Office 97-2003.
DOC = Kind(gettext_lazy("Word 97-2003 文档（.doc）"), frozenset({".doc"}), OLE2_SIGNATURE, 512)
XLS = Kind(gettext_lazy("Excel 97-2003 工作簿（.xls）"), frozenset({".xls"}), OLE2_SIGNATURE, 512)

KINDS = {
    ".pdf": PDF,
    ".png": PNG,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".docx": DOCX,
    ".xlsx": XLSX,
    ".doc": DOC,
    ".xls": XLS,
}


def content_problem(upload, extension: str) -> str | None:
    """None if the upload's content is the kind its extension claims, else what to fix."""
    kind = KINDS[extension]
    name = PurePosixPath(upload.name or "").name
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    if not head:
        return _("文件“%(name)s”是空的，请选择有内容的文件。") % {"name": name}
    if kind.ooxml_main:
        seen = _ooxml_main_type(upload) if head.startswith(kind.signature) else NOT_A_ZIP
        upload.seek(0)
        if seen == kind.ooxml_main:
            return None
        if seen == NOT_A_ZIP:
            # A zip's first bytes without its directory is a cut-off file, not another kind.
            looks_like = None if head.startswith(kind.signature) else _looks_like(head)
        elif seen == TOO_MANY_MEMBERS:
            looks_like = _("含 %(max)s 个以上文件的压缩包") % {"max": MAX_ZIP_MEMBERS}
        else:
            looks_like = OOXML_MAIN_LABELS.get(seen, _("普通的 zip 压缩包"))
    elif head.startswith(kind.signature):
        if (
            len(head) >= kind.min_size
            and _magic_extensions(head) & kind.magic
            and _complete_header(kind, head)
        ):
            return None
        looks_like = None  # the right signature, but not a whole header
    elif kind.signature.startswith(head):
        looks_like = None  # the first bytes of the signature, cut short
    else:
        looks_like = _looks_like(head)
    if looks_like:
        seen_text = _("，看起来是 %(what)s") % {"what": looks_like}
    else:
        seen_text = _("，文件可能已损坏或不完整")
    return _(
        "文件“%(name)s”的内容不是 %(kind)s%(seen)s。请上传真正的 %(kind)s："
        "只改扩展名不会改变文件格式，请用原来的程序打开后“另存为”该格式再上传。"
    ) % {"name": name, "kind": kind.label, "seen": seen_text}


def _magic_extensions(head: bytes) -> set[str]:
    try:
        return {match.extension.lower() for match in puremagic.magic_string(head)}
    except (puremagic.PureError, ValueError):
        return set()


def _complete_header(kind: Kind, head: bytes) -> bool:
    """The fixed part of the header is whole, not just the first bytes of the signature."""
    if kind is PNG:
        # The signature is followed by the IHDR chunk: length 13, type, 13 bytes, CRC.
        return head[8:16] == b"\x00\x00\x00\x0dIHDR"
    return True


def _looks_like(head: bytes) -> str | None:
    """What the content seems to be, in words, from its magic bytes."""
    for kind in (PDF, PNG, JPEG, DOC):
        if head.startswith(kind.signature):
            return kind.label if kind is not DOC else _("Office 97-2003 文件或加密的 Office 文件")
    if head.startswith(b"PK\x03\x04"):
        return _("普通的 zip 压缩包")
    if head.startswith(b"MZ"):
        return _("Windows 程序（.exe、.dll 等）")
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    best = matches[0]
    if best.extension:
        return _("%(ext)s 文件（%(name)s）") % {"ext": best.extension, "name": best.name}
    return best.name or None


NOT_A_ZIP = "not a zip"
TOO_MANY_MEMBERS = "too many members"


def _ooxml_main_type(upload) -> str:
    """The content type of the package's main part (document or workbook); "" for a zip
    without one, NOT_A_ZIP for what zipfile cannot read.

    Reads the zip's central directory and [Content_Types].xml only, each bounded.
    """
    members = _zip_member_count(upload)
    if members is None:
        return NOT_A_ZIP
    if members > MAX_ZIP_MEMBERS:
        return TOO_MANY_MEMBERS
    try:
        with zipfile.ZipFile(upload) as package:
            try:
                info = package.getinfo("[Content_Types].xml")
            except KeyError:
                return ""
            if info.file_size > MAX_CONTENT_TYPES_BYTES:
                return ""
            with package.open(info) as member:
                xml = member.read(MAX_CONTENT_TYPES_BYTES + 1)
            if len(xml) > MAX_CONTENT_TYPES_BYTES:
                return ""
            names = set(package.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
        return NOT_A_ZIP
    except (NotImplementedError, RuntimeError, ValueError):  # encrypted, unknown compression
        return ""
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return ""
    for override in root.iter(f"{CONTENT_TYPES_NS}Override"):
        content_type = override.get("ContentType", "")
        part = override.get("PartName", "").lstrip("/")
        if content_type in OOXML_MAIN_LABELS and part in names:
            return content_type
    return ""


def _zip_member_count(upload) -> int | None:
    """The member count the zip's end record gives (0xFFFF for a zip64), None without one."""
    upload.seek(0, 2)
    size = upload.tell()
    upload.seek(max(0, size - ZIP_END_SEARCH))
    tail = upload.read(ZIP_END_SEARCH)
    upload.seek(0)
    at = tail.rfind(ZIP_END_RECORD)
    if at < 0 or len(tail) < at + 22:
        return None
    return int.from_bytes(tail[at + 10 : at + 12], "little")
