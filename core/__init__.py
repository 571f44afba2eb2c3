"""Shared foundations: settings, records, errors and text utilities. Imports nothing of ours."""
