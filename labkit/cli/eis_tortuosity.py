"""``labkit eis tortuosity``: effective ionic conductivity and tortuosity of composite electrodes."""

from __future__ import annotations

import argparse
from typing import Any

from labkit.cli import EXIT_INPUT_ERROR, EXIT_OK, Outcome, add_json_flag
from labkit.cli._eis import add_spectra_input, batch_text, eis_command
from labkit.cli._records import number


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``eis tortuosity``."""
    parser = eis_command(
        subcommands,
        "tortuosity",
        help="ionic resistance, effective conductivity, MacMullin number and tortuosity of a "
             "composite electrode (blocking transmission line)",
        description=(
            "Fit R0-TLMQ1 (separator/contact resistance in series with the transmission line "
            "of a composite electrode under blocking conditions) to every spectrum of FILE... "
            "and report R_ion, sigma_eff = L/(R_ion A), the MacMullin number "
            "sigma_SE/sigma_eff and the tortuosity factor eps*sigma_SE/sigma_eff with their "
            "standard errors, and the low-frequency R_ion/3 intercept checked against the "
            "fit. Exit code 1 when a spectrum gave no result (it is listed with its error; "
            "the others are still analysed)."
        ),
    )
    add_spectra_input(parser, spectrum=True)
    parser.add_argument("--area", type=float, required=True, metavar="CM2",
                        help="electrode area, cm²")
    parser.add_argument("--thickness", type=float, required=True, metavar="CM",
                        help="composite electrode thickness, cm")
    parser.add_argument("--sigma-electrolyte", type=float, metavar="S_CM",
                        help="ionic conductivity of the electrolyte itself, S/cm (for the "
                             "MacMullin number and the tortuosity factor)")
    parser.add_argument("--volume-fraction", type=float, metavar="EPS",
                        help="volume fraction of the electrolyte in the electrode (for the "
                             "tortuosity factor)")
    parser.add_argument("--circuit", default="R0-TLMQ1", metavar="C",
                        help="circuit with a TLMQ element in series (default R0-TLMQ1)")
    add_json_flag(parser)
    parser.set_defaults(handler=_tortuosity)


def _tortuosity(args: argparse.Namespace) -> Outcome:
    from labkit.eis.tortuosity import TortuosityFailure, tortuosity_of

    results = tortuosity_of(args.files, spectrum=args.spectrum,
                            area_square_centimeter=args.area,
                            thickness_centimeter=args.thickness,
                            sigma_electrolyte_siemens_per_centimeter=args.sigma_electrolyte,
                            volume_fraction=args.volume_fraction, circuit=args.circuit)
    entries = [result.to_dict() for result in results]
    failed = any(isinstance(result, TortuosityFailure) for result in results)
    return Outcome({"results": entries}, _text(entries), EXIT_INPUT_ERROR if failed else EXIT_OK)


def _text(entries: list[dict[str, Any]]) -> str:
    return batch_text(entries, _describe)


def _estimate(value: dict[str, Any] | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{number(value['value'])} ± {number(value['stderr'], 2)}{unit}"


def _describe(head: str, entry: dict[str, Any]) -> list[str]:
    check = entry["low_frequency_check"]
    lines = [head,
             f"  R_ion              {_estimate(entry['ionic_resistance_ohm'], ' Ω')}",
             f"  R_s (separator)    {_estimate(entry['series_resistance_ohm'], ' Ω')}",
             f"  σ_eff              "
             f"{_estimate(entry['effective_conductivity_siemens_per_centimeter'], ' S/cm')}",
             f"  MacMullin number   {_estimate(entry['macmullin_number'])}",
             f"  tortuosity factor  {_estimate(entry['tortuosity_factor'])}",
             f"  R_s + R_ion/3      data {_estimate(check['intercept_ohm'], ' Ω')}, fit "
             f"{_estimate(check['expected_ohm'], ' Ω')}: "
             + ("agrees" if check["agrees"] else "DISAGREES" if check["in_regime"]
                else "not reached (measure lower frequencies)")]
    lines.extend(f"  note: {note}" for note in entry["notes"])
    return lines
