"""What the camera shows: faces and head pose, posture, and the template tracking that follows
them between model runs (mediapipe solutions on the calling thread)."""
