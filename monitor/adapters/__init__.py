"""Adapters: thin I/O around the core — video (OpenCV sources, YOLO and fallback detectors, seat
zones, drawing, motion gate), MQTT (paho client, embedded broker, durable outbox), the store
(SQLModel tables, queries, Alembic migrations), import files, document writers and webhooks.

Adapters import the core and the configuration, never a service; video, MQTT and the store do
not import each other.
"""
