"""Notifications: domain events -> short messages on the trader's channels (Slack, Discord, Telegram,
email through SNS, generic webhooks), with a durable per-channel retry queue. See docs/architecture.md."""
