"""One module per llmmon subcommand."""
