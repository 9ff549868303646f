"""Composition: the app factory, command line, settings and demo data."""
