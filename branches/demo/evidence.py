"""Demo evidence files: tiny but real PDF and PNG documents, written straight to storage.

The demo attaches thousands of them, so they are built in memory once per criterion and
written as plain files (no storage name negotiation): the same seed writes the same paths,
and seeding again after a reset overwrites them instead of piling up copies.
"""

import os
import struct
import zlib
from pathlib import Path

from django.core.files.storage import default_storage


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF showing `text` (ASCII) in Helvetica, with a correct cross-reference table."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 14 Tf 56 780 Td ({escaped}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def png_bytes(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    """A `size`×`size` PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * size  # filter byte 0, then the row's pixels
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


def evidence_files_write(files: dict[str, bytes]) -> None:
    """Write each storage name's content, replacing what a previous demo left there.

    Files with the same content after the first are hard links to it: one directory entry
    each instead of a write (several times faster for thousands of files), and deleting
    or replacing one of them leaves the others intact. Where links are not supported,
    every file is written.
    """
    firsts: dict[bytes, Path] = {}
    folders = set()
    for name, content in files.items():
        path = Path(default_storage.path(name))
        if path.parent not in folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            folders.add(path.parent)
        path.unlink(missing_ok=True)
        first = firsts.get(content)
        if first is not None:
            try:
                os.link(first, path)
                continue
            except OSError:
                pass
        path.write_bytes(content)
        firsts.setdefault(content, path)
