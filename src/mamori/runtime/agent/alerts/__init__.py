"""Alerts of the workload agent: Falco JSON lines, rate limited, to stdout, files or HTTP."""
