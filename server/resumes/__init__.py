"""Résumé intake: text, extraction, profiles, screening, follow-up questions."""
