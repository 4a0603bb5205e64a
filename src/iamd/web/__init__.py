"""The browser interface (``iamd serve``): FastAPI application, replay data, live runs."""
