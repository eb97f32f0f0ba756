"""The Pulumi program: one ComponentResource per monitoring service."""
