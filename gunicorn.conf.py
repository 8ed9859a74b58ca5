"""Gunicorn reads this file from the working directory (the image's /app) by default.

The access log masks links that are secrets (acknowledge, confirm, unsubscribe
and password reset links): see config/secret_logs.py.
"""

logger_class = "config.secret_logs.AccessLogger"
