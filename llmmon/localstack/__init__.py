"""The local live stack: the rendered configuration served by real Prometheus and Alertmanager.

``llmmon up`` and the live tests share this package: free loopback ports, supervised child
processes in their own process groups (stopped terminate → kill, never left behind), readiness
waits, a webhook sink that records every Alertmanager notification, and small API clients.
"""
