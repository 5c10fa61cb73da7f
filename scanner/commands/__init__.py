"""CLI commands. Each module here defines `register(app)`; the CLI loads them all."""
