"""``labkit card``: a new electrolyte's row in the review's tables, from its raw test files."""

from __future__ import annotations

import argparse

from labkit.cli import EXIT_INPUT_ERROR, EXIT_OK, Outcome, add_json_flag


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``card``."""
    parser = subcommands.add_parser(
        "card",
        help="material card: the row of a new electrolyte in the review's Table 1 or 3, from "
             "its raw test files",
        description=(
            "Run every test a manifest (YAML: material, class, and per test its kind, files "
            "and geometry) names, or every test detected in a folder's files, and write the "
            "material's row in the columns of the review's Table 1 (inorganic) or Table 3 "
            "(polymer/composite), Table 2-style cell rows and the other numbers, each with "
            "its uncertainty, conditions, file and analysis. Kinds: eis_temperature_series, "
            "stability_window, ccd, transference, rate, fast_charge, tortuosity. Exit code 1 "
            "when a test gave an error (it is listed; the card holds the others)."
        ),
    )
    parser.add_argument("source", metavar="MANIFEST.yaml|DIR",
                        help="a card manifest, a folder holding one, or a folder of test files")
    parser.add_argument("-o", "--output", metavar="CARD.json|.csv|.md",
                        help="write the card (format from the suffix); default: print it")
    parser.add_argument("--figure", metavar="PNG",
                        help="also draw the card among the review's published electrolytes")
    detected = parser.add_argument_group("without a manifest (tests detected from the files)")
    detected.add_argument("--material", metavar="NAME", help="the electrolyte's name "
                                                              "(default: the folder's)")
    detected.add_argument("--class", dest="material_class", metavar="CLASS",
                          help="sulfide, halide, oxide (Table 1) or polymer, composite, "
                               "quasi-solid (Table 3); default Table 1")
    detected.add_argument("--temperature", type=float, metavar="C",
                          help="the tests' temperature in °C")
    detected.add_argument("--area", type=float, metavar="CM2",
                          help="pellet / electrode area in cm² for files that state none")
    detected.add_argument("--thickness", type=float, metavar="CM",
                          help="pellet thickness in cm for files that state none")
    detected.add_argument("--mass", type=float, metavar="G",
                          help="cathode active mass in g for files that state none")
    detected.add_argument("--capacity", type=float, metavar="AH",
                          help="cells' nominal capacity in Ah for files that state none")
    add_json_flag(parser)
    parser.set_defaults(handler=_card)


def _card(args: argparse.Namespace) -> Outcome:
    from labkit.material_card import card, write_card

    sample = {"area_square_centimeter": args.area, "thickness_centimeter": args.thickness,
              "active_mass_gram": args.mass, "nominal_capacity_ampere_hour": args.capacity}
    result = card(args.source, material=args.material, material_class=args.material_class,
                  temperature_celsius=args.temperature, sample=sample)
    payload = result.to_dict()
    lines = []
    if args.output:
        payload["output"] = str(write_card(result, args.output))
        lines.append(f"wrote {payload['output']}")
    if args.figure:
        from labkit.material_card.figure import save_card_figure

        payload["figure"] = str(save_card_figure(result, args.figure))
        lines.append(f"wrote {payload['figure']}")
    text = "\n".join(lines) if args.output else result.to_markdown() + "\n".join(lines)
    return Outcome(payload, text, EXIT_INPUT_ERROR if result.failed else EXIT_OK)
