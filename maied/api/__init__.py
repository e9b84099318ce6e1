"""The HTTP API (aiohttp) on the Unix socket and the optional TCP listener."""
