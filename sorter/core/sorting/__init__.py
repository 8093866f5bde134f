"""Sorting: scan, plan (pure), apply and every other writer into an output folder."""
