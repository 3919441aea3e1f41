"""Adapters: the ports of `bot/` implemented for real services, chat platforms and the sandbox."""
