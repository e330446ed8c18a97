"""Contracts every command keeps: golden CLI help and errors, exit codes, progress schema, error
hints, design references.
"""
