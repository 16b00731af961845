"""Tests against real services: brokers, databases, the commands run as processes."""
