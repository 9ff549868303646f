"""Live analysis plumbing: hub, Redis bus and streams, results, analysis pools and nodes."""
