"""The REST API at /api/v1/: the same selectors and services as the HTML views."""
