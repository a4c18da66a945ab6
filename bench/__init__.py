"""Benchmarks: throughput, latency and memory of the detector, each next to its ceiling.

``churn-detector bench`` (``bench.cli``) runs everything in one go over the embedded broker;
``bench.generator`` makes the event mix, ``bench.harness`` runs the measurements,
``bench.results`` writes ``bench/results/*.json`` and the markdown table (into a README only
when asked).
"""
