"""SQLite task store: the durable queue and the results."""

from maied.store.records import NewTask, TaskRecord
from maied.store.tasks import TaskStore

__all__ = ["NewTask", "TaskRecord", "TaskStore"]
