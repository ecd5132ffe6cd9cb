"""The Connex sandbox: a local emulator of the Connex API (see urls.py for what it serves)."""
