"""The synthetic candidate: its media (espeak / neural Mandarin speech, a face video, encoded
once and packetised as a browser sends it), its aiortc client walking the candidate API, an
impaired uplink, and the check of what the server recorded of it."""
