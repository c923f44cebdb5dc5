"""Built-in rmg plugin (being written)."""
