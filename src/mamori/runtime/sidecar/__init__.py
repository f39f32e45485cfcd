"""ECS sidecar mode: the agent traces apps in other containers of its task (`pidMode: task`).

The app container's entrypoint is prefixed with the static helper `mamori-instrument`
(instrument.c, built by build.py), which connects to the agent's unix socket on a volume
both containers share; the agent (server.py) seizes it and sends the seccomp filter
(protocol.py), and the helper installs the filter and execs the app.
"""
