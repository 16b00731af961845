"""Tests that run the real detector or decode video: the fixture clips through the camera services."""
