"""The REST API's common parts: each app's api/ package builds on these."""
