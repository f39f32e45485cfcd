"""The ptrace + seccomp tracer: stops the traced processes at the system calls the loaded
rules need and hands each stop to a `TraceSink` (see `interface`)."""
