"""Notices: the weekly discipline notice and the monthly roll-up (通报).

`model` is the typed document both compose into; `weekly` and `monthly` compose them (pure: data
in, tables and sentences out); `numbers` prints figures as the seed does; `periods` knows weeks, months and
when each notice is due; `writers` renders a document as .docx/.md/.json/.xlsx; `service` loads the
data from the store and writes the files; `ledger` records which notices were issued; `message` is
the MQTT payload announcing one.
"""
