"""Fake CRM servers for the sync tests and bench: in-process (httpx.MockTransport) or served by
uvicorn through :func:`asgi.asgi_app`."""
