"""MQTT adapters: the paho client set up from configuration, and the embedded broker."""
