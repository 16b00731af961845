"""The perception half of a camera worker: frame sources, person detectors, seat zones, annotation."""
