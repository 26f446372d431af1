"""Canonical column names of labkit records and the units they carry.

Names follow the Battery Data Format (BDF) machine-readable convention: the
quantity in snake_case, then its SI unit spelled out (``voltage_volt``,
``charging_capacity_ampere_hour``). A column that a vendor records but BDF
does not name keeps a vendor prefix (``biologic_control_volt``,
``neware_step_type``), still ending in its unit when it has one. A column whose
name spells no unit holds a count, an index, an instrument's code, a 0/1 flag, text, a
fraction or another dimensionless ratio: :data:`NO_UNIT_MEANINGS` says which, and
``labkit read`` lists it in place of the unit (:func:`no_unit_meaning`).

Sign convention (every parser converts to it): ``current_ampere`` is positive
when the cell is charged, i.e. oxidation at the working electrode of a
half-cell or positive electrode of a full cell. Capacities and energies are
non-negative magnitudes; impedance keeps the sign as measured (capacitive arcs
have a negative ``z_imag_ohm``).
"""

from __future__ import annotations

import functools
import re

#: Cycling (time-series) columns: name -> description.
CYCLING_COLUMNS: dict[str, str] = {
    "test_time_second": "time since the start of the test",
    "step_time_second": "time since the start of the current step",
    "unix_time_second": "wall-clock time, seconds since 1970-01-01 UTC",
    "voltage_volt": "cell voltage (working vs counter/reference electrode)",
    "current_ampere": "current, positive = charge",
    "power_watt": "power, positive = charge",
    "cycle_count": ("cycle number as the instrument shows it: from 1 (labkit adds 1 where a "
                    "file stores it from 0, as Neware and EC-Lab do); 0 where the instrument "
                    "itself numbers the rows before its first cycle 0 (some Arbin, BaSyTec and "
                    "BDF files)"),
    "step_index": "index of the step in the schedule (the programmed step)",
    "step_count": "running count of steps executed, starting at 1",
    "record_index": "the instrument's own record/data-point number",
    "charging_capacity_ampere_hour": "charge passed while charging, cumulative within the cycle",
    "discharging_capacity_ampere_hour": "charge passed while discharging, cumulative within the cycle",
    "step_capacity_ampere_hour": "charge passed since the start of the step (magnitude)",
    "net_capacity_ampere_hour": "charge passed since the start of the test, charge positive",
    "charging_energy_watt_hour": "energy while charging, cumulative within the cycle",
    "discharging_energy_watt_hour": "energy while discharging, cumulative within the cycle",
    "step_energy_watt_hour": "energy since the start of the step (magnitude)",
    "net_energy_watt_hour": "energy since the start of the test, charge positive",
    "temperature_celsius": "cell temperature",
    "ambient_temperature_celsius": "ambient/chamber temperature",
    "internal_resistance_ohm": "internal resistance reported by the cycler",
    "dv_dt_volt_per_second": "voltage derivative reported by the cycler",
    "counter_electrode_voltage_volt": "counter electrode potential (3-electrode cells)",
    "working_electrode_voltage_volt": "working electrode potential (3-electrode cells)",
}

#: Impedance columns: name -> description.
IMPEDANCE_COLUMNS: dict[str, str] = {
    "spectrum": "index of the spectrum within the file, starting at 0",
    "frequency_hertz": "frequency",
    "z_real_ohm": "real part of the impedance",
    "z_imag_ohm": "imaginary part of the impedance, sign as measured",
    "z_modulus_ohm": "|Z| as reported by the instrument",
    "z_phase_degree": "phase as reported by the instrument",
    "test_time_second": "time since the start of the test at this point",
    "unix_time_second": "wall-clock time of this point",
    "temperature_celsius": "temperature of the spectrum",
    "dc_voltage_volt": "DC potential during the spectrum",
    "dc_current_ampere": "DC current during the spectrum, positive = charge/oxidation",
    "ac_amplitude_volt": "AC voltage amplitude (rms as the instrument reports it)",
    "ac_amplitude_ampere": "AC current amplitude",
    "cycle_count": "cycle number when the spectrum belongs to a cycling test",
}

#: Per-cycle summary columns (one row per cycle): name -> description. The names are the
#: ones :func:`labkit.analysis.cycling.summarize_cycles` produces, so a vendor's summary
#: table and labkit's own line up column for column. Efficiencies and retention are
#: fractions (0.998, not 99.8 %).
CYCLE_SUMMARY_COLUMNS: dict[str, str] = {
    "cycle_count": "cycle number as the source numbers it",
    "charge_capacity_ampere_hour": "charge passed while charging in the cycle",
    "discharge_capacity_ampere_hour": "charge passed while discharging in the cycle",
    "charge_energy_watt_hour": "energy while charging in the cycle",
    "discharge_energy_watt_hour": "energy while discharging in the cycle",
    "coulombic_efficiency": "discharge / charge capacity of the cycle (fraction)",
    "energy_efficiency": "discharge / charge energy of the cycle (fraction)",
    "capacity_retention": "discharge capacity / that of a reference cycle (fraction)",
    "start_time_second": "test time at the start of the cycle",
    "end_time_second": "test time at the end of the cycle",
    "charge_time_second": "time spent charging in the cycle",
    "discharge_time_second": "time spent discharging in the cycle",
    "max_voltage_volt": "highest voltage in the cycle",
    "min_voltage_volt": "lowest voltage in the cycle",
    "mean_voltage_volt": "time-averaged voltage over the cycle",
    "mean_charge_voltage_volt": "charge energy / charge capacity",
    "mean_discharge_voltage_volt": "discharge energy / discharge capacity",
    "max_current_ampere": "highest current in the cycle (positive = charge)",
    "min_current_ampere": "lowest current in the cycle (most negative = strongest discharge)",
    "mean_current_ampere": "time-averaged current over the cycle (positive = charge)",
    "max_temperature_celsius": "highest cell temperature in the cycle",
    "min_temperature_celsius": "lowest cell temperature in the cycle",
    "mean_temperature_celsius": "mean cell temperature over the cycle",
    "specific_charge_capacity_milliampere_hour_per_gram": "charge capacity per active mass",
    "specific_discharge_capacity_milliampere_hour_per_gram": "discharge capacity per active mass",
    "areal_charge_capacity_milliampere_hour_per_square_centimeter": "charge capacity per area",
    "areal_discharge_capacity_milliampere_hour_per_square_centimeter":
        "discharge capacity per area",
}

# Longest suffixes first so "_ampere_hour" wins over "_hour".
_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_milliampere_hour_per_square_centimeter", "mAh/cm²"),
    ("_milliampere_hour_per_gram", "mAh/g"),
    ("_volt_per_ampere_hour", "V/Ah"),
    ("_ampere_hour_per_volt", "Ah/V"),
    ("_siemens_per_centimeter", "S/cm"),
    ("_revolution_per_minute", "rpm"),
    ("_celsius_per_second", "°C/s"),
    ("_radian_per_second", "rad/s"),
    ("_ampere_per_second", "A/s"),
    ("_per_square_farad", "F⁻²"),
    ("_volt_per_second", "V/s"),
    ("_square_centimeter", "cm²"),
    ("_ohm_centimeter", "Ω·cm"),
    ("_ampere_hour", "Ah"),
    ("_watt_hour", "Wh"),
    ("_second", "s"),
    ("_volt", "V"),
    ("_ampere", "A"),
    ("_watt", "W"),
    ("_celsius", "°C"),
    ("_kelvin", "K"),
    ("_ohm", "Ω"),
    ("_hertz", "Hz"),
    ("_degree", "°"),
    ("_coulomb", "C"),
    ("_joule", "J"),
    ("_farad", "F"),
    ("_siemens", "S"),
    ("_radian", "rad"),
    ("_gram", "g"),
    ("_centimeter", "cm"),
    ("_percent", "%"),
    ("_day", "d"),
)

#: What a column whose name spells no unit holds instead, as ``labkit read`` lists it:
#: (pattern matching the whole name, what it is). The first match wins. A column none
#: matches holds a quantity whose unit its file does not state (a vendor's user variable,
#: an amplitude in V or A depending on the control mode); ``unit_of`` gives ``""`` for all.
NO_UNIT_MEANINGS: tuple[tuple[str, str], ...] = (
    (r"biologic_control", "V or mA, by biologic_mode (potentiostatic or galvanostatic)"),
    (r"coulombic_efficiency|energy_efficiency|capacity_retention|\w+_relative_\w+"
     r"|novonix_coulombic_inefficiency|zahner_significance", "fraction"),
    (r"cycle_count|step_count|\w+_count|\w+_counter\d*|\w+_counter_inc|\w+_loop\d*"
     r"|biologic_nbiterinstr|maccor_procedure_cycle|batterydata_equivalent_full_cycles"
     r"|vdf_\w*_n", "count"),
    (r"record_index|step_index|spectrum|\w+_index|\w+_point|\w+_segment|\w+_curve"
     r"|\w+_half_cycle|\w+_z_cycle|biologic_tech_num|\w+_step_position"
     r"|arbin_pulsestageindex|versastudio_action_id", "index"),
    (r"\w+_(mode|state|status|type|range|code|instr|end_buf|ierange|over|err)", "code"),
    (r"\w+_(changes|ox_red|ox|error|drift_corrected|nahwarn\w*)|arbin_is_\w+",
     "flag (0 or 1)"),
    (r"\w+_(name|label|command|section)", "text"),
    (r"\w+_(permittivity|tan_delta|abs_m|re_m|im_m|gd)|biologic_x"
     r"|batterydata_equivalent_charge_slippage", "dimensionless"),
)
_NO_UNIT_PATTERNS = tuple((re.compile(pattern), meaning) for pattern, meaning in NO_UNIT_MEANINGS)
#: What ``unit_or_meaning`` says of a column without a unit that no pattern describes.
UNIT_NOT_STATED = "unit not stated in the file"

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@functools.lru_cache(maxsize=4096)
def unit_of(column: str) -> str:
    """The unit a column name spells, or ``""`` for counts and labels.

    >>> unit_of("charging_capacity_ampere_hour")
    'Ah'
    >>> unit_of("cycle_count")
    ''
    """
    for suffix, unit in _UNIT_SUFFIXES:
        if column.endswith(suffix):
            return unit
    return ""


@functools.lru_cache(maxsize=4096)
def no_unit_meaning(column: str) -> str | None:
    """What a column without a unit holds (``"count"``, ``"index"``, ``"code"``,
    ``"flag (0 or 1)"``, ``"text"``, ``"fraction"``, ``"dimensionless"``...), from
    :data:`NO_UNIT_MEANINGS`; :data:`UNIT_NOT_STATED` when none describes it, ``None``
    when the name spells a unit.

    >>> no_unit_meaning("biologic_ox_red")
    'flag (0 or 1)'
    >>> no_unit_meaning("voltage_volt") is None
    True
    """
    if unit_of(column):
        return None
    return next((meaning for pattern, meaning in _NO_UNIT_PATTERNS
                 if pattern.fullmatch(column)), UNIT_NOT_STATED)


@functools.lru_cache(maxsize=4096)
def is_valid_name(column: str) -> bool:
    """Whether a column name is snake_case as labkit requires of every column."""
    return bool(_SNAKE.match(column))
