"""Foundations every layer may use: settings, the process-wide services container, CSV safety."""
