"""Impedance analysis: circuits, fitting, validity, DRT, conductivity."""
