"""Material card: from a new electrolyte's raw test files to its row in the review's tables.

>>> import labkit
>>> card = labkit.card("llzto_batch7/card.yaml")          # doctest: +SKIP
>>> card.to_frame()                                      # doctest: +SKIP
>>> labkit.material_card.write_card(card, "card.md")     # doctest: +SKIP

A YAML manifest names the material and its tests (:mod:`labkit.material_card.manifest`);
without one the tests are detected from the records (:mod:`labkit.material_card.detect`).
:mod:`labkit.material_card.runners` runs labkit's analyses, :mod:`~labkit.material_card.card`
assembles and writes the card, :mod:`~labkit.material_card.figure` places it among the
review's electrolytes.
"""

from labkit.material_card.card import CardRun, MaterialCard, card, write_card
from labkit.material_card.manifest import KINDS, CardTest, Manifest, is_manifest, load_manifest
from labkit.material_card.runners import CardValue

__all__ = ["KINDS", "CardRun", "CardTest", "CardValue", "Manifest", "MaterialCard", "card",
           "is_manifest", "load_manifest", "write_card"]
