"""Write files all at once: through temporary files beside them and atomic renames.

A crash or an error never leaves a half-written model, scores file or report behind. Temporary files are named
``.NAME.<pid>.<random>.reconad-partial``: a run that was killed (SIGKILL, power loss) may leave one, which is always
safe to delete, and the next write of the same ``NAME`` removes those whose process is gone. No heavy imports here,
so the command line and the report can use it without loading PyTorch.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from reconad.errors import InputError

PARTIAL = ".reconad-partial"  # the suffix of every temporary file reconad writes
STALE_SECONDS = 60.0  # a partial file this old whose writer has exited is left over from a killed run


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def remove_stale_partials(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that killed runs left beside ``path``; returns what was deleted.

    A partial file is stale when the process that wrote it (the pid in its name) is gone and it has not changed for
    a minute, so a write in progress, even from another machine on a shared folder, is never touched.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    removed = []
    for candidate in folder.glob(f".{_glob_escape(path.name)}.*{PARTIAL}"):
        pid = candidate.name[len(path.name) + 2 :].split(".", 1)[0]
        try:
            old = time.time() - candidate.stat().st_mtime > STALE_SECONDS
            if pid.isdigit() and old and not _alive(int(pid)):
                candidate.unlink()
                removed.append(candidate)
        except OSError:  # gone already, or not ours to delete
            continue
    return removed


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _check_target(path: Path) -> Path:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: folder {folder} does not exist; create it first")
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; choose a file name inside it")
    return folder


def _write_partial(path: Path, data: bytes) -> str:
    """``data`` in a new temporary file beside ``path``, with the usual permissions; returns its name."""
    folder = _check_target(path)
    remove_stale_partials(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=PARTIAL, dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}; choose a writable location") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual permissions
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    return atomic_write_many([(path, data)])[0]


def atomic_write_many(items: list[tuple[str | os.PathLike, bytes]]) -> list[Path]:
    """Write several files as one unit: all of them new, or (if anything fails while writing) all of them old.

    Every file is first written in full beside its target. Then the *first* path's old version is removed, the
    others are renamed into place, and the first is renamed last. So a run killed in that last instant leaves the
    first file missing, never a new first file next to old others: when the first file (the scores) exists, the
    rest (the regions) are from the same run.
    """
    paths = [Path(p) for p, _ in items]
    if len({os.path.abspath(p) for p in paths}) != len(paths):
        raise InputError(f"cannot write {', '.join(map(str, paths))}: two outputs are the same file; name them apart")
    written: list[str] = []
    try:
        for path, (_, data) in zip(paths, items):
            written.append(_write_partial(path, data))
        if len(paths) > 1:
            paths[0].unlink(missing_ok=True)
        for path, tmp in list(zip(paths, written))[1:] + [(paths[0], written[0])]:
            os.replace(tmp, path)
    except BaseException:
        for tmp in written:
            Path(tmp).unlink(missing_ok=True)
        raise
    return paths
