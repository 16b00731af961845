"""The recorder: the single writer of incidents, dismissals and reinstatements, leave and its changes, and the
windows' states.

It holds a persistent MQTT session (fixed client id, clean session off, QoS 1, manual acknowledgement), so
nothing published while it is down is lost; messages are applied in batches, each one transaction, and
acknowledged only after the commit, so a crash before it means redelivery, and redelivery is harmless
because recording is idempotent. No message can stop it: whatever it cannot parse, authenticate, admit or
store is refused with its reason — on <prefix>/rejected, in the dead-letter table and in the log — and
acknowledged. No thread can die in silence: the process ends and a standby takes over.

Records that cost or restore points must be signed (monitor.core.signature). Supervisors' messages get a
receipt on <prefix>/receipts/<kind>/<id>, so their commands report what the recorder did.

One job a module:
- handlers   what each message does: the table from topic kind to handler
- batches    batches of messages in transactions, the culprit refused alone, dead letters
- intake     the inbox: batches in, answers and acknowledgements out, the heartbeat
- lease      failover between two recorders on one database
- link       the durable MQTT session and the owner watch, operators' alerts
- delivery   the alert outbox, each alert once
- leave_lists the approved leave the camera services act on
- liveness   the cameras' liveness from what their services publish: silent ones' windows unknown, alerts
- service    the Recorder wiring them together, its threads supervised
"""

from monitor.services.recorder.handlers import Handled, handle_message
from monitor.services.recorder.service import Recorder

__all__ = ["Handled", "Recorder", "handle_message"]
