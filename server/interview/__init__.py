"""A live interview: sessions, question flow, written answers, invitations, progress."""
