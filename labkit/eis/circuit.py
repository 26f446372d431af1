"""Equivalent circuits written in impedance.py syntax, parsed into a tree, evaluated without eval.

``R0-p(R1,CPE1)-p(R2,CPE2)-CPE3``: ``-`` joins elements in series, ``p(a,b,...)``
puts its comma-separated branches in parallel, and every element is its symbol
(see :mod:`labkit.eis.elements`) followed by a label (``R0``, ``CPE1``,
``R_bulk``). A single-parameter element's parameter is named like the element
(``R1``); a multi-parameter element's parameters get ``_0``, ``_1``... as in
impedance.py (``CPE1_0`` = Q, ``CPE1_1`` = α).

The tree is evaluated with numpy over all frequencies at once, together with
the analytic derivative of Z with respect to every parameter (the chain rule
through series sums and parallel reciprocals), which is what makes the fits fast.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labkit.eis.elements import ELEMENTS, Element, FrequencyGrid, numeric_derivatives
from labkit.errors import FitError

_TOKEN = re.compile(r"\s*(?:(?P<parallel>p\()|(?P<name>[A-Za-z]+[A-Za-z0-9_]*)|(?P<symbol>[-,)]))")
_LABEL = re.compile(r"^([A-Za-z]+?)([0-9_][A-Za-z0-9_]*)?$")

Pairs = list[tuple[int, np.ndarray]]


@dataclass(frozen=True)
class Leaf:
    """One element of a circuit: its label, its registry entry and its parameters' position."""

    label: str
    element: Element
    first: int

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of its parameters in the circuit (``R1``; ``CPE1_0``, ``CPE1_1``)."""
        if len(self.element.parameters) == 1:
            return (self.label,)
        return tuple(f"{self.label}_{i}" for i in range(len(self.element.parameters)))

    def evaluate(self, values: np.ndarray, grid: FrequencyGrid, jacobian: bool):
        own = values[self.first:self.first + len(self.element.parameters)]
        z, derivatives = self.element.function(own, grid)
        if not jacobian:
            return z, []
        if derivatives is None:
            derivatives = numeric_derivatives(self.element.function, own, grid, z)
        return z, [(self.first + i, d) for i, d in enumerate(derivatives)]


@dataclass(frozen=True)
class Series:
    """Branches in series: impedances add."""

    children: tuple[Node, ...]

    def evaluate(self, values: np.ndarray, grid: FrequencyGrid, jacobian: bool):
        z, pairs = self.children[0].evaluate(values, grid, jacobian)
        for child in self.children[1:]:
            child_z, child_pairs = child.evaluate(values, grid, jacobian)
            z = z + child_z
            pairs = pairs + child_pairs
        return z, pairs


@dataclass(frozen=True)
class Parallel:
    """Branches in parallel: admittances add."""

    children: tuple[Node, ...]

    def evaluate(self, values: np.ndarray, grid: FrequencyGrid, jacobian: bool):
        results = [child.evaluate(values, grid, jacobian) for child in self.children]
        admittance = 1.0 / results[0][0]
        for child_z, _ in results[1:]:
            admittance = admittance + 1.0 / child_z
        z = 1.0 / admittance
        pairs: Pairs = []
        if jacobian:
            for child_z, child_pairs in results:
                factor = (z / child_z) ** 2
                pairs.extend((index, factor * d) for index, d in child_pairs)
        return z, pairs


Node = Leaf | Series | Parallel


class Circuit:
    """An equivalent circuit parsed from an impedance.py-style string.

    Parameters
    ----------
    text
        The circuit string, e.g. ``"R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"``.

    Raises
    ------
    FitError
        When the string is malformed, names an unknown element or repeats a label;
        the message gives the character position.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._leaves: list[Leaf] = []
        self._position = 0
        self._tokens = self._tokenize(text)
        self.root = self._parse_series()
        if self._position != len(self._tokens):
            self._fail("expected the end of the circuit")
        labels = [leaf.label for leaf in self._leaves]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise FitError(f"circuit {text!r}: element labels repeated: {repeated}")
        self.leaves: tuple[Leaf, ...] = tuple(self._leaves)
        self.parameter_names: tuple[str, ...] = tuple(
            name for leaf in self.leaves for name in leaf.parameter_names)
        self.units: tuple[str, ...] = tuple(u for leaf in self.leaves for u in leaf.element.units)
        self.bounds: tuple[tuple[float, float], ...] = tuple(
            b for leaf in self.leaves for b in leaf.element.bounds)

    def __repr__(self) -> str:
        return f"Circuit({self.text!r})"

    def __str__(self) -> str:
        return self.text

    # --- parsing -------------------------------------------------------------

    def _tokenize(self, text: str) -> list[tuple[str, str, int]]:
        tokens = []
        position = 0
        stripped = text.rstrip()
        while position < len(stripped):
            match = _TOKEN.match(stripped, position)
            if match is None:
                raise FitError(f"circuit {text!r}: unexpected character "
                               f"{stripped[position]!r} at position {position}")
            kind = match.lastgroup
            tokens.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        if not tokens:
            raise FitError("circuit string is empty; expected e.g. 'R0-p(R1,CPE1)'")
        return tokens

    def _fail(self, expected: str) -> None:
        if self._position < len(self._tokens):
            _, value, where = self._tokens[self._position]
            found = f"{value!r} at position {where}"
        else:
            found = "the end of the string"
        raise FitError(f"circuit {self.text!r}: {expected}, found {found}")

    def _peek(self) -> tuple[str, str, int] | None:
        return self._tokens[self._position] if self._position < len(self._tokens) else None

    def _parse_series(self) -> Node:
        children = [self._parse_term()]
        while (token := self._peek()) is not None and token[1] == "-":
            self._position += 1
            children.append(self._parse_term())
        return children[0] if len(children) == 1 else Series(tuple(children))

    def _parse_term(self) -> Node:
        token = self._peek()
        if token is None:
            self._fail("expected an element or p(")
        kind, value, where = token
        self._position += 1
        if kind == "parallel":
            branches = [self._parse_series()]
            while (token := self._peek()) is not None and token[1] == ",":
                self._position += 1
                branches.append(self._parse_series())
            if (token := self._peek()) is None or token[1] != ")":
                self._fail("expected ',' or ')' closing p(")
            self._position += 1
            if len(branches) < 2:
                raise FitError(f"circuit {self.text!r}: p( at position {where} needs at least "
                               "two branches separated by ','")
            return Parallel(tuple(branches))
        if kind != "name":
            self._position -= 1
            self._fail("expected an element or p(")
        return self._leaf(value, where)

    def _leaf(self, label: str, where: int) -> Leaf:
        match = _LABEL.match(label)
        symbol = match.group(1) if match else label
        # The longest registered symbol that prefixes the label wins (CPE1 -> CPE, Wo1 -> Wo).
        candidates = [s for s in ELEMENTS if label.startswith(s)
                      and (len(label) == len(s) or not label[len(s)].isalpha()
                           or s == symbol)]
        if not candidates:
            raise FitError(f"circuit {self.text!r}: unknown element {label!r} at position "
                           f"{where}; known elements: {sorted(ELEMENTS)}")
        symbol = max(candidates, key=len)
        first = sum(len(leaf.element.parameters) for leaf in self._leaves)
        leaf = Leaf(label, ELEMENTS[symbol], first)
        self._leaves.append(leaf)
        return leaf

    # --- evaluation ------------------------------------------------------------

    def impedance(self, values: Sequence[float] | dict[str, float],
                  frequency_hertz: np.ndarray) -> np.ndarray:
        """Complex impedance at ``frequency_hertz`` for parameter ``values``.

        ``values`` is a sequence in :attr:`parameter_names` order or a mapping by name.
        """
        return self.evaluate(self.as_vector(values), FrequencyGrid(frequency_hertz))[0]

    def evaluate(self, values: np.ndarray, grid: FrequencyGrid,
                 jacobian: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Impedance and, when asked, ``dZ/dp`` as an array (parameters × frequencies).

        ``values`` may also hold one column per spectrum (parameters × spectra × 1) with a
        grid of frequencies per spectrum (spectra × points): everything broadcasts.
        """
        z, pairs = self.root.evaluate(values, grid, jacobian)
        if not jacobian:
            return z, None
        derivative = np.zeros((len(self.parameter_names),) + np.shape(z), dtype=complex)
        for index, d in pairs:
            derivative[index] += d
        return z, derivative

    def as_vector(self, values: Sequence[float] | dict[str, float]) -> np.ndarray:
        """Parameter values as a vector in :attr:`parameter_names` order."""
        if isinstance(values, dict):
            missing = [n for n in self.parameter_names if n not in values]
            if missing:
                raise FitError(f"circuit {self.text!r}: no value for parameters {missing}")
            return np.array([float(values[n]) for n in self.parameter_names])
        vector = np.asarray(values, dtype=float)
        if vector.shape != (len(self.parameter_names),):
            raise FitError(f"circuit {self.text!r} has {len(self.parameter_names)} parameters "
                           f"{list(self.parameter_names)}, got {vector.size} values")
        return vector
