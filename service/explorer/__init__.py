"""The explorer page (GET /) and its static files."""
