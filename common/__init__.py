"""What both the server and the analyzers need: localized texts and the competency catalogue.

Imports nothing from ``server``, ``analyzers`` or ``media``, so any of them may import it.
"""
