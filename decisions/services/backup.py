"""Backing up every row a person or an ingest made, with the original files, and restoring it.

The archive is one zip file:

- ``data/<app>.<model>.jsonl``: a table's rows, one JSON array a line, its values in the order
  of the manifest's ``fields`` for that table (ids kept; datetimes as ISO 8601 with their
  microseconds, which Django's JSON encoder would cut to milliseconds);
- ``auth/*.jsonl``: groups with their permissions, and users' groups and permissions, by name
  (``app_label``, ``codename``), since a new database numbers its permissions its own way;
- ``files/<name>``: each letter's original file under its name in storage;
- ``manifest.json``, written last: the format and its version, the migrations the database had,
  each table's fields and row count, the files' count and bytes.

Zip, not tar: each member carries a CRC-32, so a damaged byte is named with its member; the
directory at the end makes a truncated archive fail at once, before anything is written; the
manifest can be read first without reading the rest; and members are written as they stream,
without knowing their size beforehand (tar needs it in each member's header).

Left out, as they are derived or transient and rebuilt: the facet index's change log
(``IndexChange``: a restore asks every index for a rebuild), the job queue, sessions, django-axes'
login attempts, the admin's own history, and the search tables the database's triggers keep.

Backup reads in one transaction (on PostgreSQL at REPEATABLE READ: one snapshot, however long it
runs) and streams each table ``chunk_size`` rows at a time. Restore writes in one transaction:
an archive that fails anywhere leaves the database as it was, and the files it wrote removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from ..models import (
    BodyRegion,
    CitedChapter,
    CitedPageRange,
    Correction,
    DecisionItem,
    Determination,
    Drug,
    Guideline,
    GuidelineCitation,
    Specialty,
    State,
    Treatment,
)
from .changes import letters_changed

FORMAT = "imr-decisions-backup"
VERSION = 1
MANIFEST = "manifest.json"
MIGRATED_APPS = ("auth", "contenttypes", "decisions")  # whose schemas the archive's rows fit
VOCABULARIES = (Treatment, Drug, BodyRegion, Guideline, Specialty, State)
GROUPS, USER_GROUPS, USER_PERMISSIONS = "auth.group", "auth.user_groups", "auth.user_permissions"

Progress = Callable[[str], None]


class BackupError(Exception):
    """An archive that cannot be restored (or written), or a database it cannot go into."""


def backup_tables() -> list[type[models.Model]]:
    """The tables an archive holds, in an order that restores each after those it points to."""
    user = get_user_model()
    letter, item = Determination, DecisionItem
    return [
        *VOCABULARIES,
        user,
        letter,
        letter.reviewer_states.through,
        letter.reviewer_specialties.through,
        item,
        item.treatments.through,
        item.body_regions.through,
        GuidelineCitation,
        CitedPageRange,
        CitedChapter,
        Correction,
    ]


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _member(model: type[models.Model]) -> str:
    return f"data/{_label(model)}.jsonl"


def _fields(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


def _plain(value: Any) -> Any:
    """What json cannot write itself: dates and times in full (microseconds, offset)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"cannot back up a {type(value).__name__} value")


def _line(row: Iterable[Any]) -> bytes:
    text = json.dumps(list(row), default=_plain, ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode()


def _migrations() -> dict[str, list[str]]:
    applied = MigrationRecorder(connection).applied_migrations()
    return {app: sorted(name for a, name in applied if a == app) for app in MIGRATED_APPS}


class _Reporter:
    """A line on ``progress`` per table, and every few seconds while a long one runs."""

    def __init__(self, progress: Progress | None, every: float = 5.0) -> None:
        self.progress, self.every, self.last = progress, every, time.monotonic()

    def rows(
        self, verb: str, label: str, done: int, total: int | None, *, end=False, unit="rows"
    ) -> None:
        if self.progress is None or not (end or time.monotonic() - self.last >= self.every):
            return
        self.last = time.monotonic()
        of = f" of {total:,}" if total is not None else ""
        self.progress(f"{verb} {label}: {done:,}{of} {unit}")


def _open(zf: zipfile.ZipFile, name: str):
    """A member to stream into, dated now; a PDF is stored as it is (it is compressed already)."""
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_STORED if name.endswith(".pdf") else zipfile.ZIP_DEFLATED
    return zf.open(info, "w", force_zip64=True)


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- Backup ---------------------------------------------------------------------------------


def _table_write(zf, model, *, chunk_size: int, reporter: _Reporter) -> dict[str, Any]:
    fields = [f.attname for f in _fields(model)]
    label = _label(model)
    total = model._base_manager.count()
    rows = model._base_manager.order_by("pk").values_list(*fields).iterator(chunk_size=chunk_size)
    done = 0
    with _open(zf, _member(model)) as out:
        for chunk in _chunks(rows, chunk_size):
            out.write(b"".join(_line(row) for row in chunk))
            done += len(chunk)
            reporter.rows("backed up", label, done, total)
    reporter.rows("backed up", label, done, total, end=True)
    return {"member": _member(model), "fields": fields, "rows": done}


def _links_write(zf, *, chunk_size: int) -> dict[str, int]:
    """Groups, and users' groups and permissions, by name rather than id."""
    user = get_user_model()
    counts = {}
    groups = Group.objects.order_by("name").prefetch_related("permissions__content_type")
    lines = [
        [g.name, sorted([p.content_type.app_label, p.codename] for p in g.permissions.all())]
        for g in groups
    ]
    zf.writestr("auth/groups.jsonl", b"".join(_line(line) for line in lines))
    counts[GROUPS] = len(lines)
    for key, through, columns in (
        (USER_GROUPS, user.groups.through, ["user_id", "group__name"]),
        (
            USER_PERMISSIONS,
            user.user_permissions.through,
            ["user_id", "permission__content_type__app_label", "permission__codename"],
        ),
    ):
        rows = through.objects.order_by("pk").values_list(*columns).iterator(chunk_size)
        done = 0
        with _open(zf, f"auth/{key.split('.')[1]}.jsonl") as out:
            for chunk in _chunks(rows, chunk_size):
                out.write(b"".join(_line(row) for row in chunk))
                done += len(chunk)
        counts[key] = done
    return counts


def _files_write(zf, *, reporter: _Reporter) -> dict[str, Any]:
    names = (
        Determination._base_manager.exclude(original="")
        .order_by("pk")
        .values_list("original", flat=True)
        .iterator(chunk_size=2000)
    )
    count, size, missing = 0, 0, []
    for name in names:
        try:
            handle = default_storage.open(name, "rb")
        except (FileNotFoundError, OSError):
            missing.append(name)
            continue
        with handle, _open(zf, f"files/{name}") as out:
            while block := handle.read(1 << 20):
                out.write(block)
                size += len(block)
        count += 1
        reporter.rows("backed up", "original files", count, None, unit="files")
    reporter.rows("backed up", "original files", count, None, end=True, unit="files")
    return {"count": count, "bytes": size, "missing": missing}


def backup_write(*, path: str, chunk_size: int = 2000, progress: Progress | None = None) -> dict:
    """Write every row and original file to a zip archive at ``path``; returns its manifest.

    It is written beside ``path`` and moved there when whole, so a failed run leaves no archive
    that looks complete.
    """
    reporter = _Reporter(progress)
    partial = f"{path}.partial"
    manifest: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    outermost = not connection.in_atomic_block  # else the caller's transaction decides
    try:
        with (
            zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf,
            transaction.atomic(),
        ):
            if connection.vendor == "postgresql" and outermost:  # one snapshot throughout
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            manifest.update(
                created_at=timezone.now().isoformat(),
                engine=connection.vendor,
                migrations=_migrations(),
                tables={
                    _label(m): _table_write(zf, m, chunk_size=chunk_size, reporter=reporter)
                    for m in backup_tables()
                },
                links=_links_write(zf, chunk_size=chunk_size),
                files=_files_write(zf, reporter=reporter),
            )
            zf.writestr(MANIFEST, json.dumps(manifest, indent=1))
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        raise
    return manifest


# --- Restore --------------------------------------------------------------------------------


def _archive_open(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file.") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(
            f"{path} is not a whole backup archive (truncated, damaged or not one at all): {exc}"
        ) from None


def _manifest_read(zf: zipfile.ZipFile, path: str) -> dict:
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except KeyError:
        raise BackupError(f"{path} has no {MANIFEST}: not a backup of this site.") from None
    except (ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise BackupError(f"{path}: its {MANIFEST} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a backup of this site (its manifest is not {FORMAT}).")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"{path} is a backup of format version {manifest.get('version')}; this version "
            f"of the site restores version {VERSION} only."
        )
    names = set(zf.namelist())
    wanted = [t["member"] for t in manifest["tables"].values()]
    absent = [m for m in wanted if m not in names]
    if absent:
        raise BackupError(f"{path} lacks {', '.join(absent)}: the archive is incomplete.")
    return manifest


def _compatible_check(manifest: dict) -> None:
    """Refuse an archive whose tables do not fit this database's schema, saying which way."""
    theirs, ours = manifest["migrations"], _migrations()
    for app in MIGRATED_APPS:
        missing = sorted(set(theirs.get(app, [])) - set(ours[app]))
        extra = sorted(set(ours[app]) - set(theirs.get(app, [])))
        if missing:
            raise BackupError(
                f"The archive was made after migrations this database lacks ({app}: "
                f"{', '.join(missing)}): run `manage.py migrate` (with the code that made it)."
            )
        if extra:
            raise BackupError(
                f"This database has migrations the archive's did not ({app}: {', '.join(extra)}):"
                " restore it with the version of the site that made it, then migrate."
            )
    for model in backup_tables():
        table = manifest["tables"].get(_label(model))
        ours_fields = [f.attname for f in _fields(model)]
        if table is None or sorted(table["fields"]) != sorted(ours_fields):
            raise BackupError(f"The archive's {_label(model)} does not have this site's columns.")


def _empty_check() -> None:
    held = {
        "letters": Determination.objects.count(),
        "decisions": DecisionItem.objects.count(),
        "corrections": Correction.objects.count(),
        "users": get_user_model().objects.count(),
    }
    held = {what: n for what, n in held.items() if n}
    if held:
        said = ", ".join(f"{n:,} {what}" for what, n in held.items())
        raise BackupError(
            f"The database already holds {said}: restore goes only into an empty database "
            "(a new one, after `manage.py migrate`)."
        )


@contextlib.contextmanager
def _timestamps_kept(tables: Iterable[type[models.Model]]):
    """``bulk_create`` stamps ``auto_now``/``auto_now_add`` fields with the time of the insert:
    for the length of a restore, they keep the archive's values instead."""
    stamped = [
        (f, f.auto_now, f.auto_now_add)
        for m in tables
        for f in _fields(m)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for f, _, _ in stamped:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, now, now_add in stamped:
            f.auto_now, f.auto_now_add = now, now_add


def _lines(zf: zipfile.ZipFile, member: str) -> Iterator[list]:
    with zf.open(member) as raw:
        for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), 1):
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise BackupError(f"{member}, line {number}: {exc}") from None


@contextlib.contextmanager
def _reading(member: str):
    """Name the member a damaged archive fails in."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError) as exc:
        raise BackupError(f"The archive is damaged in {member}: {exc}") from None
    except (ValidationError, ValueError, TypeError) as exc:
        raise BackupError(f"{member} holds a row this site cannot read: {exc}") from None
    except DatabaseError as exc:
        raise BackupError(f"The database refused a row of {member}: {exc}") from None


def _values(convert: list[tuple[str, Callable]], row: list) -> dict[str, Any]:
    return {name: to_python(v) for (name, to_python), v in zip(convert, row, strict=True)}


def _table_restore(zf, model, table: dict, *, batch_size: int, reporter: _Reporter) -> int:
    by_name = {f.attname: f for f in _fields(model)}
    fields = [by_name[name] for name in table["fields"]]
    convert = [
        (f.attname, (lambda v: v) if isinstance(f, models.JSONField) else f.to_python)
        for f in fields
    ]
    label, done = _label(model), 0
    with _reading(table["member"]):
        for chunk in _chunks(_lines(zf, table["member"]), batch_size):
            objs = [model(**_values(convert, row)) for row in chunk]
            model._base_manager.bulk_create(objs, batch_size=batch_size)
            done += len(objs)
            reporter.rows("restored", label, done, table["rows"])
    reporter.rows("restored", label, done, table["rows"], end=True)
    return done


def _permission(app_label: str, codename: str, known: dict) -> Permission:
    try:
        return known[(app_label, codename)]
    except KeyError:
        raise BackupError(
            f"The archive grants permission {app_label}.{codename}, which this database lacks: "
            "run `manage.py migrate` first."
        ) from None


def _links_restore(zf) -> tuple[dict[str, int], list[str]]:
    """Groups by name (a migration may have made one already), then users' links to them."""
    user = get_user_model()
    known = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.select_related("content_type")
    }
    counts = {}
    groups = {}
    with _reading("auth/groups.jsonl"):
        for name, permissions in _lines(zf, "auth/groups.jsonl"):
            group, _ = Group.objects.get_or_create(name=name)
            group.permissions.set([_permission(a, c, known) for a, c in permissions])
            groups[name] = group.pk
    counts[GROUPS] = len(groups)
    with _reading("auth/user_groups.jsonl"):
        links = [
            user.groups.through(user_id=user_id, group_id=groups[name])
            for user_id, name in _lines(zf, "auth/user_groups.jsonl")
        ]
        user.groups.through.objects.bulk_create(links)
    counts[USER_GROUPS] = len(links)
    with _reading("auth/user_permissions.jsonl"):
        links = [
            user.user_permissions.through(
                user_id=user_id, permission_id=_permission(a, c, known).pk
            )
            for user_id, a, c in _lines(zf, "auth/user_permissions.jsonl")
        ]
        user.user_permissions.through.objects.bulk_create(links)
    counts[USER_PERMISSIONS] = len(links)
    return counts, list(groups)


def _files_restore(zf, manifest: dict, written: list[str], reporter: _Reporter) -> int:
    count = 0
    for info in zf.infolist():
        if not info.filename.startswith("files/") or info.is_dir():
            continue
        name = info.filename.removeprefix("files/")
        with _reading(info.filename), zf.open(info) as handle:
            if default_storage.exists(name):  # left by a database since emptied: ours wins
                default_storage.delete(name)
            saved = default_storage.save(name, File(handle, name=name))
            written.append(saved)
        if saved != name:
            raise BackupError(f"The storage kept {name} as {saved}: restore cannot go on.")
        count += 1
        reporter.rows("restored", "original files", count, manifest["files"]["count"], unit="files")
    reporter.rows(
        "restored", "original files", count, manifest["files"]["count"], end=True, unit="files"
    )
    return count


def _counts_verify(manifest: dict, read: dict[str, int], groups: list[str]) -> dict[str, int]:
    """The rows now in the database, per table; a BackupError where they are not the manifest's."""
    held = {_label(m): m._base_manager.count() for m in backup_tables()}
    user = get_user_model()
    held[GROUPS] = Group.objects.filter(name__in=groups).count()
    held[USER_GROUPS] = user.groups.through.objects.count()
    held[USER_PERMISSIONS] = user.user_permissions.through.objects.count()
    held["files"] = read["files"]
    expected = {label: t["rows"] for label, t in manifest["tables"].items()}
    expected.update(manifest["links"])
    expected["files"] = manifest["files"]["count"]
    wrong = [
        f"{label}: {held.get(label, 0):,} restored, {n:,} in the archive"
        for label, n in expected.items()
        if held.get(label, 0) != n or read.get(label, n) != n
    ]
    if wrong:
        raise BackupError("The restore does not match the archive's manifest: " + "; ".join(wrong))
    return held


def backup_restore(*, path: str, batch_size: int = 1000, progress: Progress | None = None) -> dict:
    """Restore the archive at ``path`` into this empty database and its files into storage.

    Everything is written in one transaction and checked against the manifest's counts before
    it commits; on any failure nothing is kept (neither rows nor the files written). Returns
    the rows restored per table. Raises ``BackupError`` saying what is wrong.
    """
    reporter = _Reporter(progress)
    written: list[str] = []
    with _archive_open(path) as zf:
        manifest = _manifest_read(zf, path)
        _compatible_check(manifest)
        _empty_check()
        tables = backup_tables()
        try:
            with transaction.atomic(), _timestamps_kept(tables):
                _empty_check()  # again, now that the transaction holds the write lock
                for vocabulary in VOCABULARIES:  # synced by a migrate or an ingest: replaced
                    vocabulary.objects.all().delete()
                read = {
                    _label(m): _table_restore(
                        zf,
                        m,
                        manifest["tables"][_label(m)],
                        batch_size=batch_size,
                        reporter=reporter,
                    )
                    for m in tables
                }
                links, groups = _links_restore(zf)
                read.update(links)
                with connection.cursor() as cursor:
                    for sql in connection.ops.sequence_reset_sql(no_style(), tables):
                        cursor.execute(sql)
                read["files"] = _files_restore(zf, manifest, written, reporter)
                letters_changed(letters=[None])  # every facet index rebuilds
                return _counts_verify(manifest, read, groups)
        except BaseException:
            for name in written:
                with contextlib.suppress(OSError):
                    default_storage.delete(name)
            raise
