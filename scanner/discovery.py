"""Find the Outlook data files of a target: every profile's default folders, the folders the
registry names, and with `deep` every folder of every volume.

Names are matched case-insensitively (images and collections may sit on case-sensitive file
systems). Symlinks and junctions are never followed. Only `.ost` and `.pst` names, and files with a
PFF signature in Outlook's own folders, become candidates; what a file is, is decided later by its
header, never by its name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from scanner.records import ScanError
from scanner.target.base import Target, join
from scanner.target.dissect_target import IMAGE_SUFFIXES

PROFILE_PARENTS = ("users", "documents and settings")
OUTLOOK_FOLDERS = (
    ("appdata", "local", "microsoft", "outlook"),
    ("local settings", "application data", "microsoft", "outlook"),
    ("documents", "outlook files"),
    ("my documents", "outlook files"),
)
STORE_SUFFIXES = (".ost", ".pst")
NOT_STORES = (".nst", ".oab", ".xml", ".srs", ".dat", ".ini", ".log", ".tmp")
PFF_SIGNATURE = b"!BDN"
MAX_DEPTH = 64
BESIDE_FILES = 100_000    # files looked at beside the volumes before the count stops
OUTLOOK_FOLDER_DEPTH = 3
CONTAINER_SUFFIXES = (*IMAGE_SUFFIXES, ".7z")   # what a collection ships in: never opened here


@dataclass(frozen=True)
class Profile:
    user: str
    path: str
    source: str              # users-folder | ProfileList


@dataclass(frozen=True)
class Candidate:
    path: str
    profile_user: str | None
    found_by: str
    registry_value: str | None = None


def note_unlistable(errors: list[ScanError] | None, folder: str, exc: OSError) -> None:
    """A folder that exists but cannot be listed is damage to report (once); absence is not."""
    if errors is None or isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return
    reason = f"cannot list folder: {exc.strerror or exc}"
    if not any(e.path == folder and e.reason == reason for e in errors):
        errors.append(ScanError(folder, "discover", reason))


LINK_STAGE = "link"
NOT_SEARCHED_STAGE = "not-searched"


def note_link(target: Target, errors: list[ScanError] | None, path: str) -> None:
    """A link is not followed (loops, and paths outside the evidence); it is said, not hidden."""
    if errors is None or any(e.path == path and e.stage == LINK_STAGE for e in errors):
        return
    points_to = target.link_target(path)
    where = f" (points to {points_to})" if points_to else ""
    errors.append(ScanError(path, LINK_STAGE, f"link not followed{where}"))


def find_children(
    target: Target, folder: str, name: str, errors: list[ScanError] | None = None
) -> list[str]:
    """Sub-folders of `folder` named `name` ignoring case (a case-sensitive file system may
    hold both `Users` and `users`). Links are not followed."""
    try:
        entries = target.list_dir(folder)
    except OSError as exc:
        note_unlistable(errors, folder, exc)
        return []
    named = [e for e in entries if e.name.lower() == name]
    for entry in named:
        if entry.is_symlink:
            note_link(target, errors, join(folder, entry.name))
    return sorted(join(folder, e.name) for e in named if e.is_dir and not e.is_symlink)


def find_paths(
    target: Target, folder: str, names: tuple[str, ...], errors: list[ScanError] | None = None
) -> list[str]:
    """Every folder below `folder` along `names`, each step matched ignoring case."""
    level = [folder]
    for name in names:
        level = [child for parent in level
                 for child in find_children(target, parent, name, errors)]
    return level


def profiles_in_users_folders(target: Target, errors: list[ScanError]) -> list[Profile]:
    """Every folder under `Users` and `Documents and Settings` of every volume."""
    found = []
    for volume in target.volumes():
        for parent in find_paths_any(target, volume, PROFILE_PARENTS, errors):
            try:
                entries = target.list_dir(parent)
            except OSError as exc:
                note_unlistable(errors, parent, exc)
                continue
            for entry in sorted(entries, key=lambda e: e.name.lower()):
                if entry.is_dir and not entry.is_symlink:
                    found.append(Profile(entry.name, join(parent, entry.name), "users-folder"))
    return found


def find_paths_any(
    target: Target, folder: str, names: tuple[str, ...], errors: list[ScanError] | None = None
) -> list[str]:
    return [path for name in names for path in find_children(target, folder, name, errors)]


def is_store_name(name: str) -> bool:
    return name.lower().endswith(STORE_SUFFIXES)


def has_pff_signature(target: Target, path: str) -> bool:
    try:
        with target.open(path) as handle:
            return handle.read(4) == PFF_SIGNATURE
    except OSError:
        return False


def stores_in_outlook_folder(
    target: Target, folder: str, errors: list[ScanError] | None = None
) -> Iterator[str]:
    """Store files in one of Outlook's own folders: by name, or by signature when renamed."""
    report = partial(note_unlistable, errors)
    link = partial(note_link, target, errors)
    for path in target.walk_files(folder, max_depth=OUTLOOK_FOLDER_DEPTH, on_error=report,
                                  on_link=link):
        name = path.rsplit("/", 1)[-1]
        if is_store_name(name):
            yield path
        elif not name.lower().endswith(NOT_STORES) and has_pff_signature(target, path):
            yield path


def default_candidates(
    target: Target, profiles: list[Profile], errors: list[ScanError] | None = None
) -> Iterator[Candidate]:
    for profile in profiles:
        for names in OUTLOOK_FOLDERS:
            for folder in find_paths(target, profile.path, names, errors):
                for path in stores_in_outlook_folder(target, folder, errors):
                    yield Candidate(path, profile.user, "default-location")


def deep_candidates(
    target: Target, profiles: list[Profile], errors: list[ScanError] | None = None
) -> Iterator[Candidate]:
    """Every `.ost`/`.pst` on every volume, never following links."""
    report = partial(note_unlistable, errors)

    def link(path: str) -> None:      # only links that look like stores: system links abound
        if is_store_name(path.rsplit("/", 1)[-1]):
            note_link(target, errors, path)

    collection = collection_roots(target)
    containers = []
    for volume in target.deep_roots():
        for path in target.walk_files(volume, max_depth=MAX_DEPTH, on_error=report,
                                      on_link=link):
            if is_store_name(path):
                yield Candidate(path, profile_of(path, profiles), "deep")
            elif volume in collection and is_container_name(path):
                containers.append(path)
    if errors is not None:
        note_containers(target, errors, containers, collection[0] if collection else "")


def is_container_name(path: str) -> bool:
    return path.lower().endswith(CONTAINER_SUFFIXES)


def collection_roots(target: Target) -> list[str]:
    """Where archives and images are the collection's own: a loose folder, and what lies beside
    a collection's drives (those on a drive are the host's files)."""
    return target.deep_roots() if target.loose else beside_roots(target)


def beside_roots(target: Target) -> list[str]:
    """Where --deep walks beyond the volumes searched: what lies beside a collection's drives."""
    searched = set(target.volumes())
    return [root for root in target.deep_roots() if root not in searched]


def files_beside(target: Target, roots: list[str]) -> tuple[list[str], bool]:
    """Files below `roots` named like stores or containers, and whether the walk stopped at
    BESIDE_FILES files. Folders that cannot be listed are passed over: --deep reports them."""
    found = []
    files = (path for root in roots for path in target.walk_files(root, max_depth=MAX_DEPTH))
    for number, path in enumerate(files, 1):
        if number > BESIDE_FILES:
            return found, True
        if is_store_name(path) or is_container_name(path):
            found.append(path)
    return found, False


def note_not_searched(target: Target, errors: list[ScanError]) -> None:
    """Evidence left out is said: the store files and the containers beside the volumes."""
    roots = beside_roots(target)
    if not roots:
        return
    found, stopped = files_beside(target, roots)
    stores = [path for path in found if is_store_name(path)]
    note_stores_beside(target, errors, stores, roots[0], stopped)
    containers = [path for path in found if is_container_name(path)]
    note_containers(target, errors, containers, roots[0], stopped)


def note_stores_beside(target: Target, errors: list[ScanError], found: list[str], root: str,
                       stopped: bool) -> None:
    """How many store files lie beside the volumes, and where."""
    if not found:
        return
    folders = Counter(path.rsplit("/", 1)[0] for path in found)
    where = ", ".join(f"{target.local_path(f) or f}: {n}" for f, n in sorted(folders.items())[:3])
    more = ", …" if len(folders) > 3 else ""
    count = f"at least {len(found)}" if stopped else str(len(found))
    errors.append(ScanError(root, NOT_SEARCHED_STAGE,
                            f"{count} store file(s) beside the volumes were not searched "
                            f"({where}{more}); add --deep to read them"))


def note_containers(target: Target, errors: list[ScanError], found: list[str], root: str,
                    stopped: bool = False) -> None:
    """Archives and images are not opened inside a folder: each is a target of its own."""
    if not found:
        return
    where = ", ".join(target.local_path(path) or path for path in sorted(found)[:3])
    more = ", …" if len(found) > 3 else ""
    count = f"at least {len(found)}" if stopped else str(len(found))
    extract = " (a .7z once extracted)" if any(p.lower().endswith(".7z") for p in found) else ""
    errors.append(ScanError(root, NOT_SEARCHED_STAGE,
                            f"{count} archive(s)/image(s) in the target were not opened "
                            f"({where}{more}); scan each on its own{extract}"))


def profile_of(path: str, profiles: list[Profile]) -> str | None:
    lowered = path.lower()
    for profile in profiles:
        if lowered.startswith(profile.path.lower() + "/"):
            return profile.user
    return None


def unique(candidates: Iterator[Candidate]) -> list[Candidate]:
    """First sighting wins: a default-location file found again by --deep keeps its origin."""
    seen: dict[str, Candidate] = {}
    for candidate in candidates:
        seen.setdefault(candidate.path.lower(), candidate)
    return list(seen.values())
