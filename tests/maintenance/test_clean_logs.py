"""clean-logs: only files older than DAYS_TO_KEEP, dry run identical to the real run."""

from __future__ import annotations

import os
import time

from maied.maintenance import execute
from maied.maintenance.logs import plan_clean_logs
from tests.maintenance.conftest import make_settings, tree


def test_clean_logs_keeps_recent_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path / "data", DAYS_TO_KEEP="30")
    logs = settings.log_dir
    (logs / "cron").mkdir(parents=True)
    now = time.time()
    ages = {"maied.log": 90, "maied.log.1": 12, "maied.log.2.gz": 31, "cron/cleanup.log": 45}
    for name, days in ages.items():
        (logs / name).write_text(name * 100)
        os.utime(logs / name, (now - days * 86400, now - days * 86400))
    before = tree(logs)

    dry = execute(plan_clean_logs(settings), None, dry_run=True)
    assert tree(logs) == before
    real = execute(plan_clean_logs(settings), None, dry_run=False)
    assert [f.path for f in dry.files] == [f.path for f in real.files]
    assert sorted(str(f.path.relative_to(logs)) for f in real.files) == ["cron/cleanup.log", "maied.log.2.gz"]
    assert real.bytes_freed == before["cron/cleanup.log"] + before["maied.log.2.gz"]
    assert set(tree(logs)) == {"maied.log", "maied.log.1"}
    assert (logs / "cron").is_dir(), "log sub-folders are kept"
    assert (logs / "maied.log").exists(), "the live log of an idle daemon is kept, however old"
