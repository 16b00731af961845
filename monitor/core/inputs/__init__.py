"""The month's inputs the cameras cannot see: case volumes, 好差评 ratings, entered points, honor list.

Pure: a file is read into `Table`s by an adapter (monitor.adapters.files); parsing a table collects every
problem as the clerk reads it — "FILE 第N行第M列（列名）：what is wrong，请 what to do" (Table.where) — before
refusing the whole import, so one run reports all the bad rows and nothing is half imported.
"""
