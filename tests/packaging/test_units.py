"""The systemd units and maintainer scripts, checked with the real tools (systemd-analyze, sh -n).

The full check (build, lintian, verify against an installed root, a daemon in a clean Debian root)
is .ci/packaging.sh; these are the quick parts of it that need no build.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "packaging" / "systemd"
DEB = REPO / "packaging" / "deb"
MAX_EXPOSURE = 2.5


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name)
    return parser


def needs(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")


def exposure(path: Path) -> float:
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", str(path)],
                         capture_output=True, text=True, check=False).stdout
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
    assert match, out[-2000:]
    return float(match.group(1))


def test_maied_service_exposure_is_at_most_2_5() -> None:
    needs("systemd-analyze")
    assert exposure(UNITS / "maied.service") <= MAX_EXPOSURE


@pytest.mark.parametrize("name", ["maie-clean-all.service", "maie-clean-audio.service", "maie-disk-monitor.service"])
def test_maintenance_services_are_hardened_and_low_priority(name: str) -> None:
    service = unit(name)["Service"]
    assert service["Type"] == "oneshot" and service["User"] == "maie"
    assert service["ExecStart"].startswith("/usr/bin/maied maintenance ")
    assert service["Nice"] == "19" and service["IOSchedulingClass"] == "idle"
    if shutil.which("systemd-analyze"):
        assert exposure(UNITS / name) <= 1.0


def test_maied_service_contract() -> None:
    service = unit("maied.service")["Service"]
    assert service["Type"] == "notify" and service["WatchdogSec"] and service["User"] == "maie"
    assert service["StateDirectory"] == "maie" and service["LogsDirectory"] == "maie"
    assert service["Restart"] == "on-failure"
    assert "char-nvidia-frontend rw" in (UNITS / "maied.service").read_text()
    for forbidden in ("PrivateDevices=", "MemoryDenyWriteExecute=", "RuntimeDirectory=", "PrivateUsers="):
        assert not re.search(rf"^{forbidden}", (UNITS / "maied.service").read_text(), re.M), forbidden
    # stopping must outlast the daemon's own grace period (SHUTDOWN_GRACE_SECONDS, 30 s by default)
    assert int(service["TimeoutStopSec"].rstrip("s")) > 30


def test_socket_contract() -> None:
    socket = unit("maied.socket")["Socket"]
    assert socket["ListenStream"] == "/run/maie/maied.sock"
    assert socket["SocketMode"] == "0660" and socket["SocketGroup"] == "maie"


@pytest.mark.parametrize("name,expected", [
    ("maie-clean-all.timer", 1), ("maie-clean-audio.timer", 4), ("maie-disk-monitor.timer", 12)])
def test_timers_are_persistent_and_fire_as_often_as_documented(name: str, expected: int) -> None:
    timer = unit(name)["Timer"]
    assert timer["Persistent"] == "true"
    needs("systemd-analyze")
    out = subprocess.run(["systemd-analyze", "calendar", "--iterations=40", timer["OnCalendar"]],
                         capture_output=True, text=True, check=True).stdout
    days = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\S+) ", out)
    full_day = sorted(set(days))[1]  # the first one may be partly past
    assert days.count(full_day) == expected, out


@pytest.mark.parametrize("script", ["postinst", "prerm", "postrm", "build.sh", "shlibdeps.sh"])
def test_scripts_parse(script: str) -> None:
    shell = "sh" if script in ("postinst", "prerm", "postrm") else "bash"
    subprocess.run([shell, "-n", str(DEB / script)], check=True)


def test_maintainer_scripts_guard_systemd_calls() -> None:
    for script in ("postinst", "prerm", "postrm"):
        text = (DEB / script).read_text()
        for line in text.splitlines():
            if re.search(r"\b(systemctl|deb-systemd-invoke)\b", line) and not line.lstrip().startswith("#"):
                # every call sits in a function or block entered only under [ -d /run/systemd/system ]
                assert "/run/systemd/system" in text, script
    assert "rm -rf /var/lib/maie" not in (DEB / "postrm").read_text().split("purge)")[0], "remove keeps user data"
