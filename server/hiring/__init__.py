"""Jobs, the competency catalogue, the question bank, job analysis and training."""
