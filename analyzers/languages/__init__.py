"""Readers for the languages Faultline analyses: Python syntax of every version it supports."""
