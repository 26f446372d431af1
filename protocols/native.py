"""labkit's own schedule files: YAML and JSON (lossless, for keeping schedules in git)."""

from __future__ import annotations

import json
from pathlib import Path

from labkit.protocols.formats import ScheduleFormat, register
from labkit.protocols.schedule import Schedule, load_schedule


def _sniff_yaml(head: bytes, path: Path) -> bool:
    return b"labkit_schedule:" in head[:4096] or path.suffix.lower() in (".yaml", ".yml")


def _sniff_json(head: bytes, path: Path) -> bool:
    return b'"labkit_schedule"' in head[:4096]


register(ScheduleFormat(
    "yaml", ".yaml", "labkit schedule (YAML, lossless)",
    render=lambda schedule: schedule.to_yaml().encode("utf-8"),
    parse=load_schedule, sniff=_sniff_yaml, native=True, writes_opaque=True))
register(ScheduleFormat(
    "json", ".json", "labkit schedule (JSON, lossless)",
    render=lambda schedule: (schedule.to_json() + "\n").encode("utf-8"),
    parse=lambda path: Schedule.from_dict(json.loads(Path(path).read_text("utf-8"))),
    sniff=_sniff_json, native=True, writes_opaque=True))
