"""Instrument file parsers (imported as ``labkit.parsers``): one module per instrument family.

Each module registers its formats with :func:`labkit.registry.register`; the
registry imports every module here whose name does not start with ``_``.
Modules starting with ``_`` hold helpers shared by several parsers.
"""
