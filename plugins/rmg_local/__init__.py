"""Local-file trace source and score sink (JSONL, CSV): the defaults that need no server."""
