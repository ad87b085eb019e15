"""perfxl serve: the finance bureau's intranet service (JSON API, Chinese pages, hosted add-ins).

:func:`perfxl.server.app.create_app` builds the ASGI app from a
:class:`perfxl.server.settings.Settings`; ``perfxl serve`` runs it with uvicorn.  See
docs/ARCHITECTURE.md for the modules.
"""
