"""Pose from your own video: keypoints, person choice, a DensePose stand-in, smoothing and normalisation."""
