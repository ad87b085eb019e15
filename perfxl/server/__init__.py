"""perfxl serve: the bureau's intranet service (HTTP API, pages, the ribbon add-ins it hosts)."""
