"""Arbin MITS Pro schedules (``.sdu`` version 7, ``.sdx`` version 8): write and read.

Layout (corpus ``arbin/*.sdu``, ``*.sdx``): INI-like sections matched as whole lines,
``[Version Section]``, ``[Signature Section]``, ``[Schedule]`` (globals, safety scopes
``min^max``), ``[Schedule_StepN]`` (N from 0) each followed by its
``[Schedule_StepN_LimitM]`` sections, then 16 ``[Schedule_UserDefineSafetyN]``. The
writer emits Schedule Version 7.00.13 with the keys in the order MITS Pro 7 saves
them, latin-1 and CRLF (what the cycler PC writes; repository copies are LF). The
reader also takes version 8 files (keys sorted, blank lines between sections) and LF.

Mapping: ``rest``/``ocv`` = ``Rest``; ``cc`` = ``Current(A)`` (also reads ``C-Rate``);
``cccv`` = ``CCCV`` (signed current, ``m_szExtCtrlValue1`` = CV voltage); ``cv`` =
``Voltage(V)``. Currents are signed, positive = charge, in A; a right-hand side
``x * MV_NominalCapacity`` is read as ``x`` C. Step limits (``m_bStepLimit=1``) are
end conditions: ``PV_CHAN_Step_Time``, ``PV_CHAN_Voltage``,
``PV_CHAN_CV_Stage_Current`` / ``PV_CHAN_Current`` (the CV taper, compared signed:
``<= x`` on charge, ``>= -x`` on discharge), ``PV_CHAN_Charge_Capacity`` /
``PV_CHAN_Discharge_Capacity``; ``m_szGotoStep`` is ``Next Step``, ``End Test``
(also ``Unsafe``: both stop) or a step label. Logging limits (``m_bStepLimit=0``:
``DV_Time``, ``DV_Voltage``, ``DV_Current``) are the recording rule.

Arbin counts capacity from the last reset, not per step. The writer puts a
``Set Variable(s)`` step resetting the counters (``m_szCtrlValue=15``) before each
step with a capacity end, so the threshold is the step's own. The reader subtracts the
thresholds of earlier steps since the last reset (the multi-step fast-charge pattern of
Severson 2019 / Attia 2020, where CC1..CC4 end at 0.22/0.44/0.66/0.88 Ah): exact when
those earlier steps ended on their capacity limits.

Loops are ``Set Variable(s)`` steps (bit masks from beep's ``maccor_to_arbin``):
``m_szCtrlValue`` = 2^(15+k) resets counter ``TC_Counterk`` before the body; the
closing step increments it (``m_szExtCtrlValue1`` = 2^k) and jumps back while
``TC_Counterk < n``. The reader also takes the MITS Pro templates' single loop
``PV_CHAN_Cycle_Index <= n`` -> label (n passes: the index starts at 1 and the loop
step counts it up) when no earlier step counts the cycle index; a
``Set Variable(s)`` that only advances the cycle index is dropped.

Battery object files (``.to``, :func:`read_battery_object`) give the cell a schedule runs
with (``MV_NominalCapacity`` = ``m_fNorminalCapacity``); ``parse_arbin(path, battery=...)``
uses it.

A ``pulse`` step is written as such a loop of its on and off steps (``ceil(time /
period)`` passes) whose voltage end jumps past the loop.

Refused when writing, naming the step: ``cp`` and ``eis`` steps and chamber set points
(no such step in the corpus schedules), current ends on CC or CV steps, dV/dt ends,
capacity ends on a pulse train, loops nested more than 4 deep.

Reading keeps as an ``opaque`` step (with its current, CV voltage and the limits it
could read) a step of another control type (``Internal Resistance``, ``Current
Ramp(A)``, ``Write CAN Messages``...), a step whose set point or limit is a formula
(``F_Vmax``), a CAN or channel variable (``CAN_MV_RX1``, ``LS_CHAN_Current``), an
auxiliary reading (``AV_T[2]``) or AND-ed conditions, and a ``Set Variable(s)`` that
loops on a condition (``PV_CHAN_Discharge_Capacity <= 0.825`` -> ``CC1``: its body is
read once). The cell window is the schedule's voltage safety scope (none when it is off);
``MV_NominalCapacity`` comes from the battery object the test starts with.
"""

from __future__ import annotations

import math
import re
import uuid
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from labkit.errors import ProtocolError
from labkit.protocols.formats import ScheduleFormat, register
from labkit.protocols.schedule import (
    Cell,
    End,
    Loop,
    Recording,
    Safety,
    Schedule,
    Setpoint,
    Step,
)

_NEXT, _END_TEST = "Next Step", "End Test"
_SET_VARIABLE = "Set Variable(s)"
_RESET_CAPACITY = 15  # charge/discharge capacity and energy
_CYCLE_BIT = 1
_TC_RESET_BASE = 1 << 16  # TC_Counter1 reset; TC_Counterk = 2^(15+k)
_MAX_DEPTH = 4
_NOMINAL = "MV_NominalCapacity"
# beep documents Range1-4 as 30 A / 5 A / 500 mA / 20 mA on its cycler.
_RANGES = ((0.02, "Range4"), (0.5, "Range3"), (5.0, "Range2"), (30.0, "Range1"))

_SCHEDULE_KEYS = """m_uMUID={muid}
m_szCreator=labkit
m_szComments={comments}
m_uMaxTimesOfUnsafe=3
m_fMinDtSeconds=5
m_bLogChanNormalData=1
m_bLogChanStatData=1
m_bLogChanAuxData=1
m_bLogSBData=0
m_bLogCANBMSData=0
m_bCheckCurrentSafety={check_current}
m_bDefaultCurrentSafetyMode=0
m_uDefaultCurrentSafetyScopePercent=105
m_CurrentSafetyScope={current_scope}
m_bCheckVoltageSafety={check_voltage}
m_bDefaultVoltageSafetyMode=0
m_uDefaultVoltageSafetyScopePercent=105
m_VoltageSafetyScope={voltage_scope}
m_bCheckPowerSafety=0
m_PowerSafetyScope=0.000000^0.000000
m_AuxSafetyEnabled=0^0 ; 1^0 ; 2^0 ; 3^0 ; 4^0 ; 5^0 ; 6^0 ; 7^0 ; 8^0 ; 9^0 ; 10^0 ; 11^0
m_AuxVoltSafetyScope=0.000000^0.000000
m_AuxTempSafetyScope={temperature_scope}
m_AuxPresSafetyScope=0.000000^0.000000
m_AuxPHSafetyScope=0.000000^0.000000
m_AuxFlowrateSafetyScope=0.000000^0.000000
m_AuxDensitySafetyScope=0.000000^0.000000
m_uStepNum={steps}
m_uFormulaNum=0
m_uPulseNum=0
m_uCVNum=0
m_uAddInNum=0
m_iAppCategory=0
m_szOriginalInfo=
m_fSdlFactor_I=0.1
m_fSdlFactor_V=0.1
m_fSdlFactor_Capacity=1
m_fSdlFactor_Energy=1
m_fSdlFactor_Time=60
m_fMinDtCurrent=1
m_fMinDtVoltage=1
m_fSdlFactor_AuxV=0.001
m_fSdlFactor_AuxT=1
m_fSdlFactor_AuxP=0
m_fSdlFactor_AuxPhValue=0
m_fSdlFactor_AuxFlowRate=0
m_fSdlFactor_AuxConcentration=0
m_bCtrlValueNeedCheck=0
m_CtrlValueGoto=0
m_bUnreasonableNeedCheck=0
m_UnreasonableGoto=0
m_bImpedanceNeedCheck=0
m_ImpedanceGoto=0
m_bSimuExtraLogEnabled=0
m_bParallelCurrentAbnormalStop=0
m_bParallelVoltageAbnormalStop=0
m_fParallelCurrentAbnormalStressHold=0.5
m_fParallelVoltageAbnormalStressHold=0.5
m_fParallelCurrentAbnormalCheckInterval=1
m_fParallelVoltageAbnormalCheckInterval=5
m_fIrMax=10
m_AuxExternalChargeSafetyScope=0.000000^0.000000
m_fSdlFactor_AuxExternalCharge=0.001
m_bLogChanAuxDxdt=0
m_AuxSafetyChanSafetyEnabled=0^0 ; 1^0 ; 2^0
m_AuxSafetyVoltSafetyScope=0.000000^0.000000
m_AuxSafetyCurrSafetyScope=0.000000^0.000000
m_AuxSafetyTempSafetyScope=0.000000^0.000000
m_AuxHumiditySafetyScope=0.000000^0.000000
m_fSdlFactor_AuxHumidity=10
m_bNewCreate=0
m_nBurstModeDelayTime=1
m_nBurstModePointNumber=1000
m_nBurstModeSampleSpeed=1"""

_STEP_KEYS = """m_uLimitNum={limits}
m_szLabel={label}
m_szStepCtrlType={control}
m_szCurrentRange={current_range}
m_szVoltageRange=High
m_szCtrlValue={value}
m_szExtCtrlValue1={ext1}
m_szExtCtrlValue2=0
m_szExtDef=
m_uStepCtrlTypeExtFlag=0
m_szAddIn=
m_bSampleClockStretch=0
m_szUnitType=
m_szExUnitType1=
m_bSynchronizedStart=0
m_bAutoPidTips=0
m_nExtra1=0
m_szExtDef1=
m_bBurstModeEnable=0"""

_LIMIT_KEYS = """m_bStepLimit={step_limit}
m_bLogDataLimit=1
m_szGotoStep={goto}
Equation0_szLeft={left}
Equation0_szCompareSign={sign}
Equation0_szRight={right}
Equation1_szLeft=
Equation1_szCompareSign=
Equation1_szRight=
Equation2_szLeft=
Equation2_szCompareSign=
Equation2_szRight="""


def _number(value: float) -> str:
    value = round(value, 12)
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else f"{value:.10g}"


@dataclass
class _Row:
    """One Arbin step before rendering."""

    label: str
    control: str
    value: str = ""
    ext1: str = ""
    current_ampere: float = 0.0
    limits: list[tuple[int, str, str, str, str]] = field(default_factory=list)


class _Writer:
    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.cell = schedule.cell
        self.rows: list[_Row] = []
        self.entries: dict[str, str] = {}  # step label -> row a goto must enter it by
        self.largest_ampere = 0.0

    def emit(self, items, depth: int = 0) -> None:
        for item in items:
            if isinstance(item, Step) and item.kind == "pulse":
                item = self._pulse_loop(item)
            if not isinstance(item, Loop):
                self.step(item)
                continue
            if depth >= _MAX_DEPTH:
                raise ProtocolError(f"{item.label}: Arbin has {_MAX_DEPTH} TC counters, so loops "
                                    f"nest {_MAX_DEPTH} deep at most")
            counter = depth + 1
            self.rows.append(_Row(f"{item.label} start", _SET_VARIABLE,
                                  str(_TC_RESET_BASE << depth), "0",
                                  limits=[(1, _NEXT, "PV_CHAN_Step_Time", ">=", "0")]))
            first = len(self.rows)
            self.emit(item.steps, depth + 1)
            target = self.rows[first].label
            self.rows.append(_Row(f"{item.label} end", _SET_VARIABLE, "0", str(1 << counter),
                                  limits=[(1, target, f"TC_Counter{counter}", "<", str(item.count)),
                                          (1, _NEXT, f"TC_Counter{counter}", ">=",
                                           str(item.count))]))

    def _pulse_loop(self, step: Step) -> Loop:
        """A pulse train as a TC-counter loop of the on and off steps; a voltage end of the
        on step leaves the loop (goto ``@after:<loop>``, resolved when rendering)."""
        pulse = step.pulse
        if step.end("capacity") is not None:
            raise ProtocolError(f"{step.label}: a capacity end on a pulse train cannot be written "
                                "(Arbin counts capacity per pulse step)")
        loop_label = f"{step.label} pulses"
        count = max(1, math.ceil(step.end("time").value / (pulse.on_second + pulse.off_second)))
        on = Step("cc", label=step.label, current=step.current, record=step.record,
                  ends=(End("time", ">=", pulse.on_second, "s"),
                        *[replace(e, goto=e.goto or f"@after:{loop_label}") for e in step.ends
                          if e.quantity == "voltage"]))
        off_kind = "rest" if pulse.off_current.value == 0 else "cc"
        off = Step(off_kind, label=f"{step.label} off", record=step.record,
                   current=None if off_kind == "rest" else pulse.off_current,
                   ends=(End("time", ">=", pulse.off_second, "s"),))
        self.entries[step.label] = f"{loop_label} start"
        return Loop((on, off), count, loop_label)

    def step(self, step: Step) -> None:
        where = step.label
        if step.kind in ("cp", "eis"):
            raise ProtocolError(f"{where}: the Arbin writer has no {step.kind} step (none in the "
                                "corpus schedules to copy the layout from)")
        if step.chamber_celsius is not None:
            raise ProtocolError(f"{where}: Arbin schedules hold no chamber set point")
        charge = step.current is None or step.current.value > 0
        if step.kind in ("rest", "ocv"):
            row = _Row(step.label, "Rest")
        elif step.kind == "cc":
            ampere = step.current.ampere(self.cell)
            row = _Row(step.label, "Current(A)", _number(ampere), "", ampere)
        elif step.kind == "cccv":
            ampere = step.current.ampere(self.cell)
            row = _Row(step.label, "CCCV", _number(ampere), _number(step.voltage_volt), ampere)
        else:
            row = _Row(step.label, "Voltage(V)", _number(step.voltage_volt))
        for end in step.ends:
            goto = {None: _NEXT, "end": _END_TEST}.get(end.goto, end.goto)
            value = end.si_value(self.cell)
            if end.quantity == "time":
                row.limits.append((1, goto, "PV_CHAN_Step_Time", ">=", _number(value)))
            elif end.quantity == "voltage":
                row.limits.append((1, goto, "PV_CHAN_Voltage", end.operator, _number(value)))
            elif end.quantity == "current" and step.kind == "cccv":
                row.limits.append((1, goto, "PV_CHAN_CV_Stage_Current", "<=" if charge else ">=",
                                   _number(abs(value) if charge else -abs(value))))
            elif end.quantity == "capacity" and step.kind in ("cc", "cccv"):
                left = "PV_CHAN_Charge_Capacity" if charge else "PV_CHAN_Discharge_Capacity"
                row.limits.append((1, goto, left, ">=", _number(value)))
            else:
                raise ProtocolError(f"{where}: an Arbin {row.control} step cannot end on "
                                    f"{end.quantity} (the writer knows no limit for it)")
        record = step.record
        for left, every in (("DV_Time", record.every_second), ("DV_Voltage", record.every_volt),
                            ("DV_Current", record.every_ampere)):
            if every:
                row.limits.append((0, _NEXT, left, ">=", _number(every)))
        if step.end("capacity") is not None:
            self.entries[step.label] = f"{step.label} reset Q"
            self.rows.append(_Row(f"{step.label} reset Q", _SET_VARIABLE,
                                  str(_RESET_CAPACITY), "0",
                                  limits=[(1, _NEXT, "PV_CHAN_Step_Time", ">=", "0")]))
        self.rows.append(row)

    def render(self) -> str:
        self.emit(self.schedule.steps)
        self.largest_ampere = max((abs(row.current_ampere) for row in self.rows), default=0.0)
        safety = self.schedule.safety
        voltage = (safety.min_voltage_volt, safety.max_voltage_volt)
        current = safety.max_current_ampere
        temperature = safety.max_temperature_celsius
        body = "\n".join(self._step(n, row) for n, row in enumerate(self.rows))
        schedule = _SCHEDULE_KEYS.format(
            muid=zlib.crc32(body.encode("latin-1", "replace")) & 0x7FFFFFFF,
            comments=self.schedule.name.replace("\n", " "),
            check_current=int(current is not None),
            current_scope=(f"{-current:.6f}^{current:.6f}" if current is not None
                           else "0.000000^0.000000"),
            check_voltage=int(None not in voltage),
            voltage_scope=(f"{voltage[0]:.6f}^{voltage[1]:.6f}" if None not in voltage
                           else "0.000000^0.000000"),
            temperature_scope=(f"-100.000000^{temperature:.6f}" if temperature is not None
                               else "-100.000000^100.000000"),
            steps=len(self.rows))
        guid = str(uuid.uuid5(uuid.NAMESPACE_URL, "labkit-arbin:" + body)).upper()
        safeties = "\n".join(f"[Schedule_UserDefineSafety{n}]\nm_szSafetyType=\nm_fMinValue=0\n"
                             "m_fMaxValue=0" for n in range(16))
        text = (f"[Version Section]\nCurrent_Version=Schedule Version 7.00.13\n"
                f"[Signature Section]\nSignature={{{guid}}}\n[Schedule]\n{schedule}\n"
                f"{body}\n{safeties}\n")
        return text.replace("\n", "\r\n")

    def _resolve(self, goto: str) -> str:
        if goto.startswith("@after:"):
            labels = [row.label for row in self.rows]
            after = labels.index(f"{goto[7:]} end") + 1
            return labels[after] if after < len(labels) else _END_TEST
        return self.entries.get(goto, goto)

    def _step(self, number: int, row: _Row) -> str:
        # a rest or CV step takes the range of the largest current the schedule sets
        ampere = abs(row.current_ampere) or self.largest_ampere
        current_range = next((name for top, name in _RANGES if ampere <= top), "Range1")
        lines = [f"[Schedule_Step{number}]", _STEP_KEYS.format(
            limits=len(row.limits), label=row.label, control=row.control,
            current_range=current_range, value=row.value, ext1=row.ext1)]
        for index, (step_limit, goto, left, sign, right) in enumerate(row.limits):
            goto = self._resolve(goto)
            lines += [f"[Schedule_Step{number}_Limit{index}]", _LIMIT_KEYS.format(
                step_limit=step_limit, goto=goto, left=left, sign=sign, right=right)]
        return "\n".join(lines)


def render_arbin(schedule: Schedule) -> bytes:
    """The Arbin MITS Pro 7 schedule (``.sdu``) of a schedule: latin-1, CRLF."""
    labelled = schedule.labelled()
    for step, _ in labelled.flat_steps():
        if "=" in step.label or "\n" in step.label:
            raise ProtocolError(f"{step.label!r}: an Arbin label cannot hold '=' or a line break")
    return _Writer(labelled).render().encode("latin-1", errors="replace")


# -- reading -------------------------------------------------------------------

_SECTION = re.compile(r"^\[(.+)\][ \t\r]*$", re.M)


def _sections(text: str, path: Path,
              required: str = "Schedule") -> dict[str, tuple[int, dict[str, str]]]:
    """Section name -> (line number of the header, key -> value)."""
    out: dict[str, tuple[int, dict[str, str]]] = {}
    matches = list(_SECTION.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        keys = {}
        for line in text[match.end():end].splitlines():
            key, sep, value = line.partition("=")
            if sep:
                keys[key.strip()] = value.rstrip("\r")
        out[match.group(1)] = (text.count("\n", 0, match.start()) + 1, keys)
    if required not in out:
        raise ProtocolError(f"expected a [{required}] section", file=path, position="line 1")
    return out


@dataclass
class _Read:
    """A step read from the file: a real step, or a Set Variable(s) marker."""

    index: int
    label: str
    line: int
    step: Step | None = None
    loop_back: tuple[str, int] | None = None  # (target label, passes)
    resets_capacity: bool = False


def read_battery_object(path: Path) -> Cell:
    """The cell of an Arbin battery object file (``.to``, INI ``[Content]``).

    ``m_fNorminalCapacity`` (sic, Ah) is what schedules call ``MV_NominalCapacity``;
    ``m_fMinVoltageCharge`` / ``m_fMaxVoltageCharge`` (V) and ``m_fMaxCurrentCharge`` (A)
    give the window and the largest current.
    """
    path = Path(path)
    text = path.read_bytes().decode("latin-1")
    content = _sections(text, path, required="Content").get("Content", (1, {}))[1]

    def value(key: str) -> float | None:
        try:
            number = float(content[key])
        except (KeyError, ValueError):
            return None
        return number if number != 0 else None

    low, high = value("m_fMinVoltageCharge"), value("m_fMaxVoltageCharge")
    if value("m_fNorminalCapacity") is None and low is None and high is None:
        raise ProtocolError("battery object has no capacity or voltage window "
                            "(m_fNorminalCapacity, m_fMin/MaxVoltageCharge)", file=path)
    return Cell(name=path.stem, nominal_capacity_ampere_hour=value("m_fNorminalCapacity"),
                min_voltage_volt=low if low is not None else 0.0,
                max_voltage_volt=high if high is not None else 5.0,
                max_current_ampere=value("m_fMaxCurrentCharge"))


def parse_arbin(path: Path, battery: Path | None = None) -> Schedule:
    """Read an Arbin schedule into a labkit schedule (Set Variable(s) loops become loops).

    Parameters
    ----------
    path
        The ``.sdu`` / ``.sdx`` schedule.
    battery
        Optional battery object file (``.to``) the schedule runs with: its cell (nominal
        capacity for ``x * MV_NominalCapacity`` C-rates, voltage window, largest current)
        replaces the one derived from the schedule's safety limits.
    """
    path = Path(path)
    text = path.read_bytes().decode("latin-1")
    sections = _sections(text, path)
    line, schedule = sections["Schedule"]
    try:
        count = int(schedule["m_uStepNum"])
    except (KeyError, ValueError):
        raise ProtocolError("[Schedule] needs an integer m_uStepNum", file=path,
                            position=f"line {line}") from None
    reads: list[_Read] = []
    counts_cycles = False
    charge_total = {"charge": 0.0, "discharge": 0.0}
    for index in range(count):
        name = f"Schedule_Step{index}"
        if name not in sections:
            raise ProtocolError(f"m_uStepNum is {count} but [{name}] is missing", file=path)
        step_line, keys = sections[name]
        where = f"step {index} ({keys.get('m_szLabel', '')!r}, {keys.get('m_szStepCtrlType', '')})"
        limits = []
        for number in range(_count(keys.get("m_uLimitNum", "0") or "0",
                                   f"{where}: m_uLimitNum", step_line, path)):
            limit_name = f"{name}_Limit{number}"
            if limit_name not in sections:
                raise ProtocolError(f"{where}: [{limit_name}] is missing", file=path,
                                    position=f"line {step_line}")
            limits.append(sections[limit_name])
        read = _read_step(index, keys, limits, where, step_line, path, counts_cycles,
                          charge_total)
        if keys.get("m_szStepCtrlType") == _SET_VARIABLE:
            counts_cycles = counts_cycles or _int(keys.get("m_szExtCtrlValue1")) & _CYCLE_BIT
        reads.append(read)
    items = _nest(reads, path)
    if not items:
        raise ProtocolError("schedule has no steps", file=path)
    voltage = _scope(schedule, "m_bCheckVoltageSafety", "m_VoltageSafetyScope", path, line)
    current = _scope(schedule, "m_bCheckCurrentSafety", "m_CurrentSafetyScope", path, line)
    safety = Safety(min_voltage_volt=voltage[0] if voltage else None,
                    max_voltage_volt=voltage[1] if voltage else None,
                    max_current_ampere=max(abs(current[0]), abs(current[1])) if current else None)
    cell = (read_battery_object(battery) if battery is not None else
            Cell(min_voltage_volt=voltage[0] if voltage else None,
                 max_voltage_volt=voltage[1] if voltage else None))
    return Schedule(schedule.get("m_szComments", "") or path.stem, cell, items, safety=safety)


def _int(text: str | None) -> int:
    try:
        return int(float(text or 0))
    except (ValueError, OverflowError):
        return 0


def _count(text: str, where: str, line: int, path: Path) -> int:
    try:
        return int(float(text))
    except (ValueError, OverflowError):
        raise ProtocolError(f"{where}: expected a count, found {text!r}", file=path,
                            position=f"line {line}") from None


def _scope(keys: dict[str, str], flag: str, name: str, path: Path,
           line: int) -> tuple[float, float] | None:
    if keys.get(flag, "0") != "1" or "^" not in keys.get(name, ""):
        return None
    low, high = keys[name].split("^", 1)
    try:
        return float(low), float(high)
    except ValueError:
        raise ProtocolError(f"[Schedule] {name} should be 'min^max' numbers, is "
                            f"{keys[name]!r}", file=path, position=f"section at line {line}"
                            ) from None


def _amount(text: str, where: str, path: Path) -> tuple[float, str]:
    """A right-hand side: a number (unit "A") or ``x * MV_NominalCapacity`` (unit "C")."""
    text = text.strip()
    match = re.fullmatch(rf"([-+0-9.eE]+)\s*\*\s*{_NOMINAL}", text)
    try:
        value, unit = (float(match.group(1)), "C") if match else (float(text), "A")
        if not math.isfinite(value):
            raise ValueError(text)
        return value, unit
    except ValueError:
        raise ProtocolError(f"{where}: {text!r} is a formula or variable, not a number labkit "
                            "can express", file=path) from None


#: Control types of real Arbin schedules (corpus) the model has no step for; their
#: ``m_szCtrlValue`` is a current where the type says so.
_UNMODELLED_TYPES = {"Internal Resistance": True, "Current Ramp(A)": True,
                     "Write CAN Messages": False}
_MODELLED_TYPES = ("Rest", "Current(A)", "C-Rate", "CCCV", "Voltage(V)")


def _read_step(index, keys, limits, where, line, path, counts_cycles, capacity_total) -> _Read:
    label = keys.get("m_szLabel", "")
    control = keys.get("m_szStepCtrlType", "")
    read = _Read(index, label, line)
    if control == _SET_VARIABLE:
        return _read_set_variable(read, keys, limits, where, path, counts_cycles,
                                  capacity_total)
    ends: list[End] = []
    unread: list[str] = []
    record = {"DV_Time": None, "DV_Voltage": None, "DV_Current": None}
    value = keys.get("m_szCtrlValue", "")
    current = _current_value(control, value, where, path)
    charge = current is None or current.value > 0
    for limit_line, limit in limits:
        equations = [(limit.get(f"Equation{k}_szLeft", ""), limit.get(f"Equation{k}_szCompareSign",
                      ""), limit.get(f"Equation{k}_szRight", "")) for k in range(3)]
        equations = [e for e in equations if e[0]]
        if limit.get("m_bStepLimit") != "1":
            if len(equations) == 1 and equations[0][0] in record:
                record[equations[0][0]] = _amount(equations[0][2], where, path)[0]
            continue  # compound logging triggers are not kept
        goto = limit.get("m_szGotoStep", _NEXT)
        target = None if goto == _NEXT else "end" if goto in (_END_TEST, "Unsafe") else goto
        condition = " and ".join(" ".join(e) for e in equations)
        if len(equations) != 1:
            unread.append(f"{condition} -> {goto} (AND-ed conditions)")
            continue
        try:
            ends.append(_read_end(equations[0], target, charge, where, limit_line, path,
                                  capacity_total))
        except ProtocolError:
            unread.append(f"{condition} -> {goto}")
    recording = Recording(every_second=record["DV_Time"], every_volt=record["DV_Voltage"],
                          every_ampere=record["DV_Current"])
    volt = _number_or_none(keys.get("m_szExtCtrlValue1", "") if control == "CCCV" else
                           value if control == "Voltage(V)" else "")
    if control not in _MODELLED_TYPES or unread or (current is None and control in (
            "Current(A)", "C-Rate", "CCCV")) or (volt is None and control in ("CCCV",
                                                                              "Voltage(V)")):
        read.step = Step("opaque", label=label, current=current, voltage_volt=volt,
                         ends=tuple(ends), record=recording,
                         vendor_step=_vendor_step(control, keys, unread))
    elif control == "Rest":
        read.step = Step("rest", label=label, ends=tuple(ends), record=recording)
    elif control == "CCCV":
        read.step = Step("cccv", label=label, current=current, voltage_volt=volt,
                         ends=tuple(ends), record=recording)
    elif control == "Voltage(V)":
        read.step = Step("cv", label=label, voltage_volt=volt, ends=tuple(ends),
                         record=recording)
    else:
        read.step = Step("cc", label=label, current=current, ends=tuple(ends), record=recording)
    return read


def _current_value(control: str, value: str, where: str, path: Path) -> Setpoint | None:
    """The current ``m_szCtrlValue`` sets, None when it sets none or is a formula."""
    if control not in ("Current(A)", "C-Rate", "CCCV") and not _UNMODELLED_TYPES.get(control):
        return None
    try:
        amount, unit = _amount(value, where, path)
    except ProtocolError:
        return None  # a formula or variable (CAN_MV_RX1, LS_CHAN_Current)
    return Setpoint(amount, "C" if control == "C-Rate" else unit)


def _number_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _vendor_step(control: str, keys: dict[str, str], unread: list[str]) -> str:
    """What an Arbin step labkit does not model is, as the schedule writes it."""
    known = control in _MODELLED_TYPES or control in _UNMODELLED_TYPES
    text = f"Arbin {control!r}" + ("" if known else
                                   " (a control type not seen in any Arbin schedule)")
    values = [keys.get(k, "") for k in ("m_szCtrlValue", "m_szExtCtrlValue1")]
    if any(v.strip() and v.strip() != "0" for v in values):
        text += f", values {values[0]!r} / {values[1]!r}"
    if unread:
        text += f", limits labkit cannot read: {'; '.join(unread)}"
    return text


def _read_end(equation, goto, charge, where, line, path, capacity_total) -> End:
    left, sign, right = equation
    operator = ">=" if sign in (">", ">=") else "<=" if sign in ("<", "<=") else None
    if operator is None:
        raise ProtocolError(f"{where}: comparison {sign!r} cannot be expressed", file=path,
                            position=f"line {line}")
    amount, unit = _amount(right, where, path)
    if left == "PV_CHAN_Step_Time":
        return End("time", ">=", amount, "s", goto)
    if left == "PV_CHAN_Voltage":
        return End("voltage", operator, amount, "V", goto)
    if left in ("PV_CHAN_CV_Stage_Current", "PV_CHAN_Current"):
        return End("current", "<=", abs(amount), unit, goto)
    if left in ("PV_CHAN_Charge_Capacity", "PV_CHAN_Discharge_Capacity"):
        direction = "charge" if left == "PV_CHAN_Charge_Capacity" else "discharge"
        if unit != "A":
            raise ProtocolError(f"{where}: a capacity limit relative to {_NOMINAL} cannot be "
                                "expressed", file=path, position=f"line {line}")
        share = amount - capacity_total[direction]
        capacity_total[direction] = amount
        return End("capacity", ">=", round(share, 12), "Ah", goto)
    raise ProtocolError(f"{where}: a step limit on {left!r} cannot be expressed", file=path,
                        position=f"line {line}")


def _read_set_variable(read, keys, limits, where, path, counts_cycles, capacity_total) -> _Read:
    resets = _int(keys.get("m_szCtrlValue"))
    increments = _int(keys.get("m_szExtCtrlValue1"))
    if resets & _RESET_CAPACITY:
        read.resets_capacity = True
        capacity_total.update(charge=0.0, discharge=0.0)
    backward = []
    conditional: list[str] = []
    for limit_line, limit in limits:
        left = limit.get("Equation0_szLeft", "")
        goto = limit.get("m_szGotoStep", _NEXT)
        if limit.get("m_bStepLimit") != "1" or goto == _NEXT or left == "PV_CHAN_Step_Time":
            continue
        sign, right = limit.get("Equation0_szCompareSign", ""), limit.get("Equation0_szRight", "")
        counter = re.fullmatch(r"TC_Counter([1-4])", left)
        if counter and increments & (1 << int(counter.group(1))) and sign == "<":
            backward.append((goto, _count(right, where, limit_line, path)))
        elif (left == "PV_CHAN_Cycle_Index" and increments & _CYCLE_BIT and sign in ("<=", "<")
              and not counts_cycles):
            backward.append((goto, _count(right, where, limit_line, path) - (sign == "<")))
        else:  # on a condition, or on a cycle index other steps count too: no fixed count
            conditional.append(f"{left} {sign} {right} -> {goto}")
    if conditional or len(backward) > 1:
        jumps = conditional + [f"a counted loop to {goto!r}" for goto, _ in backward]
        read.step = Step("opaque", label=read.label, vendor_step=(
            f"Arbin 'Set Variable(s)' jumping back on a condition, not a count (a loop labkit "
            f"cannot express): {'; '.join(jumps)}"))
        return read
    read.loop_back = backward[0] if backward else None
    return read


def _nest(reads: list[_Read], path: Path) -> tuple:
    """Turn backward jumps into loops, and labels of marker steps into the next real step."""
    following: dict[str, str] = {}
    next_label = "end"
    for read in reversed(reads):
        if read.step is not None:
            next_label = read.label
        following[read.label] = next_label
    items: list[tuple[int, Step | Loop]] = []
    positions = {read.label: read.index for read in reads}
    for read in reads:
        if read.step is not None:
            ends = tuple(e if e.goto in (None, "end") else replace(
                e, goto=_target(e.goto, following, read, path)) for e in read.step.ends)
            items.append((read.index, replace(read.step, ends=ends)))
        if read.loop_back is None:
            continue
        target, passes = read.loop_back
        if target not in positions or positions[target] > read.index:
            raise ProtocolError(f"step {read.index} ({read.label!r}): loop target {target!r} is "
                                "not an earlier step", file=path, position=f"line {read.line}")
        start = positions[target]
        body = []
        while items and items[-1][0] >= start:
            body.insert(0, items.pop())
        first_real = following[target]
        if not body or body[0][1] is not None and _first_label(body[0][1]) != first_real:
            raise ProtocolError(f"step {read.index} ({read.label!r}): the loop back to "
                                f"{target!r} overlaps another loop", file=path,
                                position=f"line {read.line}")
        name = read.label[:-4] if read.label.endswith(" end") else f"loop_{read.label}"
        items.append((start, Loop(tuple(item for _, item in body), passes, name)))
    return tuple(item for _, item in items)


def _first_label(item: Step | Loop) -> str:
    return item.label if isinstance(item, Step) else _first_label(item.steps[0])


def _target(goto: str, following: dict[str, str], read: _Read, path: Path) -> str:
    if goto not in following:
        raise ProtocolError(f"step {read.index} ({read.label!r}): goto {goto!r} names no step",
                            file=path, position=f"line {read.line}")
    return following[goto]


def _sniff(head: bytes, path: Path) -> bool:
    return head.startswith(b"[Version Section]") and b"Schedule Version" in head[:200]


register(ScheduleFormat("arbin", ".sdu", "Arbin MITS Pro schedule (.sdu / .sdx)",
                        render=render_arbin, parse=parse_arbin, sniff=_sniff,
                        capacity_at_start=True))
