"""Arbin column names -> labkit columns, shared by the .res reader and the text/xlsx readers.

Arbin writes the same quantities under three spellings: the Channel_Normal_Table
field names of the .res database and its SQL/CSV dumps (``Charge_Capacity``),
DataPro/MITS exports with the unit in parentheses (``Charge_Capacity(Ah)``,
``Charge Capacity (Ah)``). :func:`canonical_key` reduces all three to one key.
Arbin's sign convention already matches labkit's: current is negative on
discharge, capacities and energies are non-negative and cumulative within the
cycle (separate charge and discharge columns).
"""

from __future__ import annotations

import re

import numpy as np

#: Seconds between the OLE automation epoch (1899-12-30) and the unix epoch.
OLE_EPOCH_OFFSET_DAY = 25569.0

# canonical key -> (labkit column, factor to SI)
_COLUMNS: dict[str, tuple[str, float]] = {
    "data_point": ("record_index", 1.0),
    "test_time": ("test_time_second", 1.0),
    "test_time_s": ("test_time_second", 1.0),
    "step_time": ("step_time_second", 1.0),
    "step_time_s": ("step_time_second", 1.0),
    "step_index": ("step_index", 1.0),
    "cycle_index": ("cycle_count", 1.0),
    "current": ("current_ampere", 1.0),
    "current_a": ("current_ampere", 1.0),
    "current_ma": ("current_ampere", 1e-3),
    "voltage": ("voltage_volt", 1.0),
    "voltage_v": ("voltage_volt", 1.0),
    "power_w": ("power_watt", 1.0),
    "charge_capacity": ("charging_capacity_ampere_hour", 1.0),
    "charge_capacity_ah": ("charging_capacity_ampere_hour", 1.0),
    "charge_capacity_mah": ("charging_capacity_ampere_hour", 1e-3),
    "discharge_capacity": ("discharging_capacity_ampere_hour", 1.0),
    "discharge_capacity_ah": ("discharging_capacity_ampere_hour", 1.0),
    "discharge_capacity_mah": ("discharging_capacity_ampere_hour", 1e-3),
    "charge_energy": ("charging_energy_watt_hour", 1.0),
    "charge_energy_wh": ("charging_energy_watt_hour", 1.0),
    "discharge_energy": ("discharging_energy_watt_hour", 1.0),
    "discharge_energy_wh": ("discharging_energy_watt_hour", 1.0),
    "dv_dt": ("dv_dt_volt_per_second", 1.0),
    "dv_dt_v_s": ("dv_dt_volt_per_second", 1.0),
    "internal_resistance": ("internal_resistance_ohm", 1.0),
    "internal_resistance_ohm": ("internal_resistance_ohm", 1.0),
    "temperature": ("temperature_celsius", 1.0),
    "ac_impedance": ("arbin_ac_impedance_ohm", 1.0),
    "aci_phase_angle": ("arbin_aci_phase_angle_degree", 1.0),
    "acr": ("arbin_acr_ohm", 1.0),
    "acr_ohm": ("arbin_acr_ohm", 1.0),
    "capacity_ah": ("arbin_capacity_ampere_hour", 1.0),
    "pulsestagetime": ("arbin_pulse_stage_time_second", 1.0),
    "dq_dv_ah_v": ("arbin_dq_dv_ampere_hour_per_volt", 1.0),
    "dv_dq_v_ah": ("arbin_dv_dq_volt_per_ampere_hour", 1.0),
    "mah_g": ("arbin_specific_capacity_milliampere_hour_per_gram", 1.0),
}


def canonical_key(header: str) -> str:
    """``"Charge Capacity (Ah)"``, ``"Charge_Capacity(Ah)"`` -> ``"charge_capacity_ah"``."""
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def labkit_column(header: str) -> tuple[str, float]:
    """The labkit column and SI factor for an Arbin header; unknown ones get ``arbin_``."""
    key = canonical_key(header)
    if key in _COLUMNS:
        return _COLUMNS[key]
    return "arbin_" + key, 1.0


def ole_days_to_unix(days: np.ndarray) -> np.ndarray:
    """OLE automation dates (days since 1899-12-30) to unix seconds, both read as UTC."""
    return (np.asarray(days, dtype=np.float64) - OLE_EPOCH_OFFSET_DAY) * 86400.0
