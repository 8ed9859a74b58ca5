"""Coolhead as other software's peer: alert ingestion, outgoing webhooks, Slack slash commands."""
