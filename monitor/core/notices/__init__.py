"""Notices: the weekly discipline notice and the monthly roll-up (通报).

`model` is the typed document both compose into; `frame` the 版头 and sign-off they share; `weekly` and
`monthly` compose their own text and attachments (pure: data in, tables and sentences out); `numbers` prints
figures as the seed does; `readiness` says whether a notice may take its 文号; `due` when each notice is due;
`message` is the MQTT payload announcing one. Periods are the hall's calendar (`monitor.core.periods`); the
writers (`monitor.adapters.documents`), the ledger and register (`monitor.adapters.store.ledger`) and the
service that loads, composes, writes and issues (`monitor.services.notices`) live in their layers.
"""
