"""Runs: run directories, checkpoints, stopping on signals, devices and processes.

Shared by search and re-training; imports nothing above the schema.
"""
