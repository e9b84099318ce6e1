"""Maintenance verbs (the seed's cron scripts as code): plan what to delete, then execute the same plan.

Every verb first builds a `Plan` (plain data: files with their sizes, task rows to update) and then
`execute()` carries it out or, on a dry run, only reports it, so both report exactly the same set.
"""

from maied.maintenance.plan import Outcome, Plan, PlannedFile, PlannedTask, TaskAction
from maied.maintenance.run import execute

__all__ = ["Outcome", "Plan", "PlannedFile", "PlannedTask", "TaskAction", "execute"]
