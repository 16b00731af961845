"""Services: the wiring of adapters around the core into the running parts — the camera service
(one process for the hall's cameras), the recorder, the notice scheduler and publisher, replay and
the supervisors' patrol messages. `monitor run` runs them together; each command runs one alone.
"""
