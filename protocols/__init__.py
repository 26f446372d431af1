"""Cycler test schedules (imported as ``labkit.protocols``): model, generators, writers."""
