"""The SQLite file of the embedded task queue (huey): its storage opens the file ``settings().huey_db``
names when a connection is made, and creates huey's own tables (``core.cases.tasks``)."""

from __future__ import annotations

from pathlib import Path

from huey import SqliteHuey
from huey.storage import SqliteStorage

from core.config import settings


class SettingsSqliteStorage(SqliteStorage):
    """SqliteStorage whose file follows ``settings().huey_db``."""

    def __init__(self, name="huey", **kwargs):
        kwargs["create_tables"] = False
        super().__init__(name=name, filename="", **kwargs)
        self._opened_for = None

    @property
    def conn(self):
        path = str(settings().huey_db)
        if self._conn is None or self._opened_for != path:
            if self._conn is not None:
                self._conn.close()
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.filename = path
            conn = self._create_connection()
            for ddl in self.ddl:  # initialize_schema() would re-enter self.lock
                conn.execute(ddl)
            self._conn = conn
            self._opened_for = path
        return self._conn


class DeidSqliteHuey(SqliteHuey):
    storage_class = SettingsSqliteStorage
