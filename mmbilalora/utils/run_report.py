"""RunReport: the per-image report of a run over many images, written so that a run can resume."""
import json
import os.path as osp
import time
from typing import Dict, List

from .atomic_io import atomic_dump_json


class RunReport:
    """``{'images': [row, ...], 'failed': [{'input', 'reason'}, ...], **fields}`` at ``path``.

    Rows are keyed by ``row[key]``. The report is written atomically, every ``interval``
    seconds during the run (:meth:`save_if_due`) and at its end (:meth:`save`), so that an
    interrupted run leaves a valid report; with ``resume=True`` the rows of the report already
    at ``path`` are kept (an unreadable one is ignored) and this run's rows replace theirs.

    Args:
        path: the JSON file.
        key: the row field that names an image.
        resume: keep the rows of an earlier report at ``path``.
        interval: seconds between the reports written during the run.
    """

    def __init__(self, path: str, key: str = 'input', resume: bool = False,
                 interval: float = 30.0):
        self.path, self.key, self.interval = path, key, interval
        self.rows: Dict[str, Dict] = self._earlier_rows() if resume else {}
        self.failed: List[Dict[str, str]] = []
        self._saved = time.monotonic()

    def _earlier_rows(self) -> Dict[str, Dict]:
        if not osp.isfile(self.path):
            return {}
        try:
            with open(self.path) as f:
                return {row[self.key]: row for row in json.load(f).get('images', [])}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def add(self, row: Dict) -> None:
        """Record (or replace) the row of image ``row[key]``."""
        self.rows[row[self.key]] = row

    def fail(self, input: str, reason: str) -> None:
        """Record an image that could not be processed."""
        self.failed.append(dict(input=input, reason=reason))

    def content(self, **fields) -> Dict:
        """The report as written: ``fields``, then ``images`` and ``failed``."""
        return dict(fields, images=list(self.rows.values()), failed=list(self.failed))

    def save(self, **fields) -> None:
        """Write the report now."""
        atomic_dump_json(self.content(**fields), self.path)
        self._saved = time.monotonic()

    def due(self) -> bool:
        """Whether ``interval`` seconds have passed since the last write."""
        return time.monotonic() - self._saved > self.interval

    def save_if_due(self, **fields) -> None:
        """Write the report if it is :meth:`due`."""
        if self.due():
            self.save(**fields)
