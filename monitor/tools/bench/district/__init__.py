"""`monitor bench-district`: the district platform at its intended size, simulated end to end on one machine.

What it models (issue 22): the seed hall (93 windows, 24 cameras) and 12 township centres (25 windows, 10 cameras
each): 13 sites, 144 cameras, 393 windows. The centres' cameras publish to a Mosquitto of their centre, bridged to the
district's Mosquitto (QoS 1, persistent session, the site's topics only, the bridge's link notification); the hall's
publish to the district's broker directly. One recorder process — one `Recorder` per site on one engine, as
`monitor recorder` runs a district — records everything into one PostgreSQL, and each site's board (the console's
live view) watches the district broker.

The cameras publish what their camera services would, at the rates they would (`traffic`): statistics every few
seconds, a window's state when it changes, incidents signed with the site's camera key — a working day's incidents
compressed into the run. Measured: the recorder's lag (publish at the camera -> committed in the store), the board's
delay (publish -> shown on the site's board), the recorder process's CPU and memory, the brokers' CPU, messages per
second; verified: every incident once at its site, every event and state recorded, an alert per incident, nothing
refused (a mismatch is an error, not a figure).

Modules: `sites` builds the district's configuration, `brokers` the bridged Mosquittos, `traffic` what the cameras
publish and when, `recorder` the recorder process, `boards` the boards' watch, `run` the run and its report.
"""

from monitor.tools.bench.district.boards import Board, BoardFactory
from monitor.tools.bench.district.run import DEFAULT_DATABASE, DistrictReport, DistrictSpec, Spread, run_district_bench

__all__ = [
    "DEFAULT_DATABASE",
    "Board",
    "BoardFactory",
    "DistrictReport",
    "DistrictSpec",
    "Spread",
    "run_district_bench",
]
