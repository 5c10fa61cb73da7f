"""Choose the target implementation for what the user pointed at.

| given                                         | read by                               |
|-----------------------------------------------|---------------------------------------|
| nothing                                       | the live host (LocalTarget)           |
| a folder laid out like a drive, or an         | LocalTarget: it decodes Velociraptor's|
| extracted Velociraptor or KAPE collection     | `%40` names, and knows KAPE's `C/`    |
| another folder dissect recognises (acquire,   | dissect.target                        |
| a VM bundle)                                  |                                       |
| any other folder                              | LocalTarget, one tree                 |
| an Outlook data file (`!BDN`, .ost/.pst/.nst) | LocalTarget, that file alone          |
| an image or archive (E01, raw, VMDK, VHD(X),  | dissect.target (`ostscan[images]`)    |
| zip, tar)                                     |                                       |

dissect is never asked for an extracted collection: it cannot open `%40` names there and does
not recognise a KAPE folder, and a plain folder would be listed twice (`sysvol` and `c:`).
"""

from __future__ import annotations

import os

from scanner.target.base import Target, TargetError, TargetSpec
from scanner.target.local import (
    find_volumes,
    open_file,
    open_folder,
    open_live,
    quiet_path,
    read_head,
)

PFF_SIGNATURE = b"!BDN"
STORE_SUFFIXES = (".ost", ".pst", ".nst")


def open_target(path: str | None) -> Target:
    """None: the live host. A folder: a mounted image root or a collection. A file: a disk
    image or archive, or a single Outlook data file."""
    if path is None or path == "":
        return open_live()
    try:
        os.stat(path)
    except FileNotFoundError:
        raise TargetError(f"{path}: no such file or folder") from None
    except OSError as exc:
        raise TargetError(f"{path}: cannot open: {exc.strerror or exc}") from None
    if os.path.isdir(path):
        return _open_any_folder(path)
    if is_store_file(path):
        return open_file(path)
    from scanner.target.dissect_target import open_dissect, sniff_image

    if sniff_image(path) is None:
        return open_file(path)
    return open_dissect(path)


def reopen(spec: TargetSpec) -> Target:
    """Open the same target again, e.g. in a worker process."""
    if spec.kind == "live":
        return open_live()
    if spec.kind == "folder":
        return open_folder(spec.path)
    if spec.kind == "file":
        return open_file(spec.path)
    if spec.kind == "dissect":
        from scanner.target.dissect_target import open_dissect

        return open_dissect(spec.path)
    raise TargetError(f"unknown target kind {spec.kind!r}")


def is_store_file(path: str) -> bool:
    """An Outlook data file by its signature, or by its name when the header is damaged."""
    if path.lower().endswith(STORE_SUFFIXES):
        return True
    try:
        return read_head(path, 4) == PFF_SIGNATURE
    except OSError as exc:
        raise TargetError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _open_any_folder(path: str) -> Target:
    volumes, _ = find_volumes(path)
    if volumes or not dissect_recognises(path):
        return open_folder(path)
    from scanner.target.dissect_target import open_dissect

    return open_dissect(path)


def dissect_recognises(path: str) -> bool:
    """Whether one of dissect's specific loaders (not its generic folder loader) claims it."""
    try:
        from dissect.target import loader
    except ImportError:
        return False
    try:
        found = loader.find_loader(quiet_path(path), fallbacks=[])
    except Exception:  # a loader's detect() failing on odd input means: not recognised
        return False
    return found is not None
