"""Kafka/Faust edge of the churn-signal detector: app, agents, CLI, sinks, metrics."""
