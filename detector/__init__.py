"""Domain core of the churn-signal detector: pure Python, no Kafka or Prometheus."""

__version__ = "0.1.0"
