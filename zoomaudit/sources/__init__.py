"""The collectors: Microsoft Graph (``graph``) and Zoom (``zoom``) over HTTP, with the shared
retry/backoff/rate limiting of ``http``. Only ``pull`` and ``check`` use them; analysis modules
never import this package."""
