"""Scoring of the coder and of assertion detection on the formats in GUIDE.md section 3."""
