"""Helpers shared by the tests (one module per concern; fixtures live in tests/conftest.py).

- paths: where the repository's fixtures, seed files and shipped detector weights are;
- config: the one factory of test configurations (`hall_config`);
- mqtt: brokers of a test's own, a recording subscriber, publishing, waiting for a condition;
- notices: the seed's incidents and inputs in a test database, a hall of another city;
- presence: a hall calendar and scripted seat timelines for the presence machine;
- video: the fixture clips and their truth, the detectors (real and drawn).
"""
