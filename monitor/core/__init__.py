"""The functional core: the hall's rules as pure functions of their inputs, time a parameter.

No database, broker, video, network, file, environment or clock access here (pyproject.toml's
import contracts and tests/unit/test_architecture.py check it): the presence machine, the duty
calendar, admission of incidents, scoring, alert text, evaluation against ground truth, the month's
input parsing and the notice composition. Most tests live here.
"""
