"""The month's inputs the cameras cannot see: case volumes, 好差评 ratings, entered points, honor list.

Pure: a file is read into `Table`s by an adapter (monitor.adapters.files); parsing a table collects
every problem as "FILE:LINE: what is wrong, what to do" before refusing the whole import, so one
run reports all the bad rows and nothing is half imported.
"""
