"""Runtime detection: the event model the tracer fills and the Falco-compatible rules engine."""
