"""`ostscan scan [TARGET]`: find every Outlook data file and write one report."""

from __future__ import annotations

import enum
import os
import sys
from collections import Counter

import typer

from scanner import exitcodes
from scanner.commands.options import (
    evidence_root,
    ip_address,
    seconds_allowed,
    writable_output,
)
from scanner.console import Console
from scanner.discovery import LINK_STAGE, NOT_SEARCHED_STAGE, profiles_in_users_folders
from scanner.output import inside, open_output, write_json, write_jsonl
from scanner.records import (
    STATUS_EMPTY,
    STATUS_LOCKED,
    STATUS_MISSING,
    STATUS_NOT_PFF,
    STATUS_OK,
    STATUS_UNREADABLE,
    STATUSES,
    ScanReport,
    StoreFile,
)
from scanner.report import flat_records, nothing_in_outlook_folders, report_document
from scanner.scan import ScanOptions, scan_target
from scanner.target.base import Target, TargetError
from scanner.target.open import open_target


class ReportFormat(str, enum.Enum):
    json = "json"
    jsonl = "jsonl"


def scan(
    target: str | None = typer.Argument(
        None, help="A mounted image root, an extracted KAPE/Velociraptor collection, a disk "
        "image, or one OST/PST file. Default: this live host.", metavar="TARGET"),
    output: str | None = typer.Option(None, "-o", "--output", callback=writable_output,
                                      help="Write here, not stdout (never into the target).",
                                      metavar="FILE"),
    fmt: ReportFormat = typer.Option(ReportFormat.json, "--format",
                                     help="json: one document; jsonl: a flat record per file "
                                     "and per folder, ECS names."),
    deep: bool = typer.Option(False, "--deep", help="Also walk every folder of every volume.",
                              metavar=""),
    no_hash: bool = typer.Option(False, "--no-hash", help="Do not compute SHA-256.", metavar=""),
    hash_max_bytes: int | None = typer.Option(None, "--hash-max-bytes", min=0,
                                                 help="Skip hashing files larger than this.",
                                              metavar="BYTES"),
    items: bool = typer.Option(False, "--items", help="Read every message: delivery-time range "
                               "and Internet Message-IDs per folder (slower).", metavar=""),
    owner_sample: int = typer.Option(50, "--owner-sample", min=0,
                                     help="Inbox messages read for received-by owner clues.",
                                     metavar="N"),
    timeout: float = typer.Option(300.0, "--timeout", callback=seconds_allowed,
                                  help="Seconds allowed to parse one file (at most a week).",
                                  metavar="SECONDS"),
    no_isolation: bool = typer.Option(False, "--no-isolation",
                                      help="Parse in this process (debugging only).", metavar=""),
    host_name: str | None = typer.Option(None, "--host-name",
                                            help="Name of the host the target came from.",
                                         metavar="NAME"),
    egress_ip: str | None = typer.Option(None, "--egress-ip", callback=ip_address,
                                            help="The host's public address, if known.",
                                         metavar="IP"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress on stderr.", metavar=""),
) -> None:
    """Find every OST/PST on a host, image or collection and report owner, folders and times."""
    console = Console(quiet)
    refuse_writing_into(target, output, console)
    options = ScanOptions(deep=deep, hash=not no_hash, hash_max_bytes=hash_max_bytes,
                          items=items, owner_sample=owner_sample, timeout=timeout,
                          isolate=not no_isolation, host_name=host_name, egress_ip=egress_ip)
    try:
        opened = open_target(target)
    except TargetError as exc:
        console.error(str(exc))
        raise typer.Exit(exitcodes.FAILED) from exc
    try:
        warn_if_no_profiles(opened, console)
        report = scan_target(opened, options, console)
    finally:
        opened.close()
    write_report(report, output, fmt, console)
    summarise(report, console)
    raise typer.Exit(exit_code(report))


def warn_if_no_profiles(target: Target, console: Console) -> None:
    """Off Windows the live host is this machine's own `/`: with no Windows profile folders
    there, the evidence was most likely meant to be given as the target."""
    if not target.is_live() or sys.platform == "win32":
        return
    if profiles_in_users_folders(target, []):
        return
    console.warn("no Windows profile folders (Users, Documents and Settings) on this machine; "
                 "to scan evidence, give its path as the target: a mounted image, a collection "
                 "folder, a disk image or an OST")


def refuse_writing_into(target: str | None, output: str | None, console: Console) -> None:
    """The report never goes into the evidence: not into a target folder, not beside a file nor
    below its folder, nor anywhere in the host tree a file given alone hangs from."""
    if not target or not output or output == "-" or not os.path.exists(target):
        return
    evidence = target if os.path.isdir(target) else \
        evidence_root(target) or os.path.dirname(os.path.abspath(target))
    if inside(output, evidence):
        console.error(f"{output}: would write into the evidence ({evidence}); write elsewhere")
        raise typer.Exit(exitcodes.USAGE)


def write_report(report: ScanReport, output: str | None, fmt: ReportFormat,
                 console: Console) -> None:
    try:
        with open_output(output) as stream:
            if fmt is ReportFormat.jsonl:
                write_jsonl(flat_records(report), stream)
            else:
                write_json(report_document(report), stream)
    except BrokenPipeError:
        raise typer.Exit(exit_code(report)) from None
    except OSError as exc:
        console.error(f"{output or 'stdout'}: cannot write the report: {exc.strerror or exc}")
        raise typer.Exit(exitcodes.FAILED) from exc


def summarise(report: ScanReport, console: Console) -> None:
    bad = [f for f in report.files if f.status not in (STATUS_OK, STATUS_MISSING)]
    console.info(summary_line(report))
    if nothing_in_outlook_folders(report):
        console.warn(f"{report.target.path or report.target.description}: no Outlook data "
                     "file in Outlook's folders of this host; an OST moved elsewhere is found by "
                     "--deep, which walks every folder")
    lines = [f"{store.path}: {store.status}: {shorten(store.reason)}" for store in bad]
    paths = {store.path for store in bad}
    lines += [f"{error.path or '(target root)'}: {error.stage}: {shorten(error.reason)}"
              for error in report.errors if error.path not in paths]
    for line in lines[:WARNING_LINES]:
        console.warn(line)
    if len(lines) > WARNING_LINES:
        console.warn(f"… and {len(lines) - WARNING_LINES} more: every one is in the report")


WARNING_LINES = 25
NOT_STORES = (STATUS_NOT_PFF, STATUS_EMPTY)          # examined, and no Outlook data file
UNKNOWN = (STATUS_LOCKED, STATUS_UNREADABLE)         # may be one: its header was never read


def summary_line(report: ScanReport) -> str:
    """What was examined, said truthfully: a file that is not PFF is not counted as found."""
    examined = [f for f in report.files if f.status != STATUS_MISSING]
    if report.target.kind == "file" and len(examined) == 1:
        status = examined[0].status
        what = ("not an Outlook data file" if status in NOT_STORES else
                "could not be read" if status in UNKNOWN else "an Outlook data file")
        return f"1 file examined: {what} ({status})"
    stores = [f for f in examined if f.status not in NOT_STORES]
    others = [f for f in examined if f.status in NOT_STORES]
    line = f"{len(stores)} Outlook data file(s) found{by_status(stores)} in " \
        f"{report.target.description}"
    if others:
        line += f"; {len(others)} other file(s) examined, not Outlook data files" \
            f"{by_status(others)}"
    return line


def by_status(files: list[StoreFile]) -> str:
    counts = Counter(f.status for f in files)
    said = [f"{counts[status]} {status}" for status in STATUSES if counts[status]]
    return f" ({', '.join(said)})" if said else ""


def shorten(text: str | None, limit: int = 240) -> str:
    """libpff's error chains run long; the report keeps them whole."""
    text = text or ""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def exit_code(report: ScanReport) -> int:
    """A link not followed, stores beside the volumes left to --deep, and archives not opened
    are said in the report, but they are no damage."""
    damaged = any(f.status not in (STATUS_OK, STATUS_MISSING) for f in report.files)
    errors = [e for e in report.errors if e.stage not in (LINK_STAGE, NOT_SEARCHED_STAGE)]
    return exitcodes.PARTIAL if damaged or errors else exitcodes.OK


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
