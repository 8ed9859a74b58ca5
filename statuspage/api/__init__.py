"""REST API (/api/v1/) for public updates and components; wired in incidents/api/urls.py."""
