"""/api/v1/import: readings and driver values from an uploaded CSV file
(``enms import readings|drivers``), within a size and a row limit.

The request's size is checked from its Content-Length before the body is read
(``UploadLimit`` in engine/api/app.py); the rows while the file is copied.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, HTTPException, Query, Request, UploadFile

from .. import ingest
from .auth import Permitted
from .common import EngineJSON, Identifier, StoreDep

router = APIRouter(prefix="/import", tags=["import"])

DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_ROWS = 2_000_000
_CHUNK = 1 << 20


def upload_limits() -> tuple[int, int]:
    """(bytes, rows) an upload may have: ENMS_API_MAX_UPLOAD_MB, ENMS_API_MAX_ROWS."""
    return (_positive("ENMS_API_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_BYTES, 1024 * 1024),
            _positive("ENMS_API_MAX_ROWS", DEFAULT_MAX_ROWS, 1))


def _positive(variable: str, default: int, unit: int) -> int:
    text = os.environ.get(variable)
    if not text:
        return default
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"{variable} must be a positive whole number, got {text!r}")
    return int(text) * unit


def _file_name(upload: UploadFile) -> str:
    """The client's file name without directories or odd characters, for the
    import record and the audit trail."""
    name = re.sub(r"[^\w.-]", "_", Path(upload.filename or "").name)[:100].lstrip(".")
    return name or "upload.csv"


def _save(upload: UploadFile, directory: Path, max_rows: int) -> Path:
    path = directory / _file_name(upload)
    lines = 0
    with open(path, "wb") as out:
        while chunk := upload.file.read(_CHUNK):
            lines += chunk.count(b"\n")
            if lines > max_rows + 1:  # the header line and max_rows rows
                raise HTTPException(413, f"{path.name}: more than {max_rows:,} rows "
                                    "(ENMS_API_MAX_ROWS); split the file")
            out.write(chunk)
    return path


def _import(request: Request, upload: UploadFile, run) -> EngineJSON:
    _, max_rows = request.app.state.upload_limits
    directory = Path(tempfile.mkdtemp(prefix="enms-upload-"))
    try:
        path = _save(upload, directory, max_rows)
        report = run(path).as_dict()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    report["file"] = path.name
    report["rejects_file"] = None  # it was beside the upload, now removed; 'rejects' lists them
    if report["loaded"]:
        return EngineJSON(report)
    first = report["rejects"][0] if report["rejects"] else None
    report["detail"] = f"{path.name}: nothing loaded, {report['rows_rejected']} rows rejected" + (
        f" (line {first['line']}: {first['reason']})" if first else "")
    return EngineJSON(report, status_code=422)


CsvFile = Annotated[UploadFile, File(description="the CSV file (docs/user-guide.md, import)")]
Strict = Annotated[bool, Query(description="reject the whole file if any row is bad")]
LabelQ = Annotated[Literal["start", "end"],
                   Query(description="timestamps mark the start or the end of each interval")]


@router.post("/readings")
def import_readings(request: Request, file: CsvFile, energy_source: Identifier, store: StoreDep,
                    user: Permitted("data.import"), counter: bool = False,
                    strict: Strict = False, label: LabelQ = "start"):
    """Readings of one energy source. 200 with the import report (rejected rows
    listed); 422 when nothing was loaded (``strict`` and a bad row)."""
    return _import(request, file, lambda path: ingest.import_readings(
        store, path, energy_source, strict=strict, counter=counter, label=label,
        actor=user["name"]))


@router.post("/drivers")
def import_drivers(request: Request, file: CsvFile, store: StoreDep,
                   user: Permitted("data.import"), strict: Strict = False,
                   label: LabelQ = "start"):
    """Driver values, long (timestamp,driver,value) or wide (timestamp,<driver>...)."""
    return _import(request, file, lambda path: ingest.import_drivers(
        store, path, strict=strict, label=label, actor=user["name"]))
