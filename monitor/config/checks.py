"""Cross-section checks: what no single section can know (a window's department is configured, a seat
is watched by one camera, rule sets do not share a date). Each raises ValueError naming the key."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.config.hall import DepartmentConfig, StaffConfig, WindowGroupConfig, expand_window_ids
from monitor.config.rules import RuleSetConfig
from monitor.config.signers import SignerConfig
from monitor.config.video import CameraConfig


def check_departments(departments: Sequence[DepartmentConfig]) -> set[str]:
    """The department names, each listed once."""
    names = [d.name for d in departments]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"departments: listed twice: {', '.join(dupes)}")
    return set(names)


def check_windows(windows: Sequence[WindowGroupConfig], departments: set[str]) -> set[str]:
    """The window ids, each listed once, each with configured departments."""
    seen: set[str] = set()
    for index, group in enumerate(windows):
        for dept in group.departments:
            if dept not in departments:
                raise ValueError(
                    f"windows[{index}] ({', '.join(group.ids)}): department {dept!r} is not in [departments]"
                )
        for spec in group.ids:
            for wid in expand_window_ids(spec):
                if wid in seen:
                    raise ValueError(f"windows[{index}]: window {wid} is listed twice")
                seen.add(wid)
    return seen


def check_staff(staff: Sequence[StaffConfig], windows: set[str], departments: set[str]) -> None:
    """One person per configured window, with a configured department if one is named."""
    staffed: set[str] = set()
    for index, person in enumerate(staff):
        if person.window not in windows:
            raise ValueError(f"staff[{index}] ({person.name}): window {person.window!r} is not in [windows]")
        if person.window in staffed:
            raise ValueError(f"staff[{index}] ({person.name}): window {person.window} already has a person")
        staffed.add(person.window)
        if person.department and person.department not in departments:
            raise ValueError(f"staff[{index}] ({person.name}): department {person.department!r} is unknown")


def check_cameras(cameras: Sequence[CameraConfig], windows: set[str]) -> None:
    """Unique camera ids; every seat zone on a configured window that no other camera watches."""
    watched: dict[str, str] = {}
    for index, camera in enumerate(cameras):
        for zone in camera.windows:
            if zone.window not in windows:
                raise ValueError(f"cameras[{index}] ({camera.id}): window {zone.window!r} is not in [windows]")
            if zone.window in watched:
                # Two cameras judging one seat would report one absence twice.
                raise ValueError(
                    f"cameras[{index}] ({camera.id}): window {zone.window} is already watched by camera "
                    f"{watched[zone.window]}"
                )
            watched[zone.window] = camera.id
    ids = [c.id for c in cameras]
    if len(set(ids)) != len(ids):
        raise ValueError("cameras: two cameras have the same id")


def check_rules(rules: Sequence[RuleSetConfig]) -> None:
    """At least one rule set, no two taking effect on the same date."""
    if not rules:
        raise ValueError("rules: at least one rule set is needed")
    dates = [r.effective for r in rules]
    if len(set(dates)) != len(dates):
        raise ValueError("rules: two rule sets take effect on the same date")


def check_signers(signers: Sequence[SignerConfig], cameras: set[str]) -> None:
    """Unique names and cameras that are configured."""
    seen: set[str] = set()
    for index, signer in enumerate(signers):
        if signer.name in seen:
            raise ValueError(f"signers[{index}]: {signer.name} is listed twice")
        seen.add(signer.name)
        if unknown := sorted(set(signer.cameras) - cameras):
            raise ValueError(f"signers[{index}] ({signer.name}): unknown camera(s) {', '.join(unknown)}")
