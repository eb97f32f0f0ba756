"""One module per monitoring service; each ``build(ctx) -> Service`` is pure."""
