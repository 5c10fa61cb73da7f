"""Inputs of `ostscan audit`: files, folders, `.gz` and `.zip`, opened read-only as text.

Containers and text encodings are recognised by their first bytes, never by the file name:
gzip (1F 8B), zip (PK 03 04), 7-Zip (refused with a reason), UTF-8 with or without BOM,
UTF-16 LE/BE with a BOM or with the zero bytes of ASCII text in every other position.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import shutil
import stat
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from scanner.quiet import open_quietly, quiet_descriptor
from scanner.zipcut import CUT_ZIP, ZIP_MAGIC, starts_as_zip

GZIP_MAGIC = b"\x1f\x8b"
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
READ_CHUNK = 1 << 20
PIECE = 64 << 10        # read from a decompressed stream at a time (zipfile drops the last
                        # piece of a member whose CRC does not match)
STDIN = "-"


def _as_windows_1252(error: UnicodeError) -> tuple[str, int]:
    """Bytes that are not UTF-8, read as Windows-1252: an export Excel saved again."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start:error.end].decode("cp1252", "replace"), error.end


NOT_UTF8 = "ostscan-windows-1252"       # the decoding error handler of UTF-8 inputs
codecs.register_error(NOT_UTF8, _as_windows_1252)


@dataclass
class TextSource:
    """One readable input: a display name and how to open it as text."""

    name: str
    encoding: str
    open_binary: Callable[[], BinaryIO]

    def open_text(self) -> TextIO:
        """Decoded text; a UTF-16 BOM is left as U+FEFF for the reader to drop; in UTF-8 text,
    bytes that are not UTF-8 are read as Windows-1252."""
        raw = self.open_binary()
        buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw, READ_CHUNK)
        encoding = "utf-8-sig" if self.encoding == "utf-8" else self.encoding
        errors = NOT_UTF8 if self.encoding == "utf-8" else "replace"
        return io.TextIOWrapper(buffered, encoding=encoding, errors=errors, newline="")


class UpToDamage(io.RawIOBase):
    """A decompressed stream (`.gz`, zip member) that hands back what it decompressed before
    a cut or damage, and raises the error on the next read: a read that asks for more than
    the input still holds would otherwise lose what it had."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.error: Exception | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.error is not None:
            raise self.error
        pieces: list[bytes] = []
        wanted = size if size >= 0 else sys.maxsize
        while wanted > 0:
            try:
                piece = self.stream.read1(min(wanted, PIECE))
            except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
                if not pieces:
                    raise
                self.error = exc
                break
            if not piece:
                break
            pieces.append(piece)
            wanted -= len(piece)
        return b"".join(pieces)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.stream.close()
        super().close()


@dataclass
class SourceError:
    """An input that could not be opened at all (`skipped`: a file in a folder that is, by
    its name, no export at all; said on stderr, not counted as damage)."""

    name: str
    reason: str
    skipped: bool = False


# In a folder walk these are documents, pictures or programs, never an audit export.
NOT_EXPORTS = (".md", ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".png",
               ".jpg", ".jpeg", ".gif", ".exe", ".dll", ".ps1", ".py", ".sha256", ".md5")
SNIFF_BYTES = 4096


def iter_sources(paths: list[str]) -> Iterator[TextSource | SourceError]:
    """Every text input under the given paths, in a stable order; folders are walked; `-`
    is standard input."""
    for path in paths:
        if path == STDIN or (os.path.exists(path) and _is_stream(path)):
            yield from _spooled(path)
        elif os.path.isdir(path):
            yield from _walk(path)
        elif os.path.exists(path):
            yield from _open_file(path, lambda p=path: open_quietly(p))
        else:
            yield SourceError(path, "not found")


def _is_stream(path: str) -> bool:
    """A pipe, FIFO, socket or device: what can be read once only."""
    mode = os.stat(path).st_mode
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _spooled(path: str) -> Iterator[TextSource | SourceError]:
    """A stream, copied once into a temporary file (in the system's temporary folder, removed
    after): an input is opened more than once (to recognise it, then to read it)."""
    try:
        with tempfile.NamedTemporaryFile(prefix="ostscan-", delete=False) as spool:
            source = sys.stdin.buffer if path == STDIN else open_quietly(path)
            with source:
                shutil.copyfileobj(source, spool, READ_CHUNK)
    except OSError as exc:
        yield SourceError(path, f"unreadable: {exc.strerror or exc}")
        return
    try:
        yield from _open_file(path, lambda: open(spool.name, "rb"))
    finally:
        os.unlink(spool.name)


def _walk(folder: str) -> Iterator[TextSource | SourceError]:
    found = yield from _walk_folder(folder)
    if not found:
        yield SourceError(folder, "no file in this folder or below it")


def _walk_folder(folder: str) -> Generator[TextSource | SourceError, None, bool]:
    """The files of a folder by name, then those of its folders (links to folders are not
    followed); True when a file was found in it or below it."""
    try:
        files, folders = _listing(folder)
    except OSError as exc:
        yield SourceError(folder, f"folder not read: {exc.strerror or exc}")
        return False
    for name in files:
        path = os.path.join(folder, name)
        if name.lower().endswith(NOT_EXPORTS):
            yield SourceError(path, "skipped: not an audit export, by its name", skipped=True)
        else:
            yield from _open_file(path, lambda p=path: open_quietly(p))
    found = bool(files)
    for name in folders:
        found = (yield from _walk_folder(os.path.join(folder, name))) or found
    return found


def export_files(folder: str) -> list[str]:
    """The files below a folder that `audit` would read, in its order: documents left out by
    name, links to folders not followed, folders listed quietly; an unlistable one is skipped
    (reading it as an input says why)."""
    try:
        files, folders = _listing(folder)
    except OSError:
        return []
    found = [os.path.join(folder, n) for n in files if not n.lower().endswith(NOT_EXPORTS)]
    for name in folders:
        found += export_files(os.path.join(folder, name))
    return found


def _listing(folder: str) -> tuple[list[str], list[str]]:
    """The names of the files and of the folders in a folder, sorted, listed without updating
    its access time where the OS allows it."""
    if not hasattr(os, "O_DIRECTORY"):
        with os.scandir(folder) as entries:
            return _sorted_names(entries)
    descriptor = quiet_descriptor(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.scandir(descriptor) as entries:
            return _sorted_names(entries)
    finally:
        os.close(descriptor)


def _sorted_names(entries: Iterator[os.DirEntry]) -> tuple[list[str], list[str]]:
    files, folders = [], []
    for entry in entries:
        if not _is_folder(entry):
            files.append(entry.name)
        elif not entry.is_symlink():
            folders.append(entry.name)
    return sorted(files), sorted(folders)


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _open_file(name: str, opener: Callable[[], BinaryIO]) -> Iterator[TextSource | SourceError]:
    try:
        with opener() as handle:
            head = handle.read(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
        yield SourceError(name, f"unreadable: {getattr(exc, 'strerror', None) or exc}")
        return

    if head.startswith(GZIP_MAGIC):
        yield from _open_file(f"{name}!gunzip", lambda: UpToDamage(gzip.open(opener(), "rb")))
    elif head.startswith(ZIP_MAGIC):
        yield from _zip_members(name, opener)
    elif head.startswith(SEVEN_ZIP_MAGIC):
        yield SourceError(name, "unsupported container: 7-Zip (extract it first)")
    elif not head:
        yield SourceError(name, "empty file")
    elif looks_binary(head, sniff_encoding(head)):
        yield SourceError(name, "not an audit export: binary data")
    else:
        yield TextSource(name, sniff_encoding(head), opener)


def looks_binary(head: bytes, encoding: str) -> bool:
    """NUL bytes in what should be 8-bit text, or many control characters: not an export."""
    if encoding != "utf-8":
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 0x20 and byte not in b"\t\n\r\f")
    return controls > len(head) // 20


def _cut_zip_hint(opener: Callable[[], BinaryIO]) -> str:
    """A file that starts as a zip but has no index at its end was most likely cut short."""
    try:
        with opener() as stream:
            head = stream.read(4)
    except OSError:
        return ""
    return f" ({CUT_ZIP})" if starts_as_zip(head) else ""


def _zip_members(name: str, opener: Callable[[], BinaryIO]) -> Iterator[TextSource | SourceError]:
    try:
        archive = zipfile.ZipFile(opener())
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        yield SourceError(name, f"bad zip archive: {exc}{_cut_zip_hint(opener)}")
        return

    names = {m.filename for m in members}
    if "[Content_Types].xml" in names and any(n.startswith(("xl/", "word/")) for n in names):
        yield SourceError(name, "an Office document, not an export: save the sheet as CSV")
        return
    for member in sorted(members, key=lambda m: m.filename):
        def open_member(m: zipfile.ZipInfo = member) -> BinaryIO:
            return UpToDamage(zipfile.ZipFile(opener()).open(m))
        yield from _open_file(f"{name}!{member.filename}", open_member)


def sniff_encoding(head: bytes) -> str:
    """The text encoding of a file from its first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] and head[3]:
        return "utf-16-be"
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    return "utf-8"

