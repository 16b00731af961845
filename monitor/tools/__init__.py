"""Tools built on the services: the end-to-end demo and the performance benchmark."""
