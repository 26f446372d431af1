"""Electrochemical test analyses: cycling, rate, fast charge, CCD, transference."""
