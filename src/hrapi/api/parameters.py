"""Query parameters an operation does not document are a 422 that names them.

Operations with query arguments refuse unknown ones as their schema loads them (see
json_body.JsonBodyParser); this hook does the same for the operations that take none, so that
a typo (`/loads/7?formt=csv`) never silently changes nothing.
"""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import abort


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_undocumented_query_parameters():
        if not request.args or request.endpoint not in app.view_functions:
            return
        view = app.view_functions[request.endpoint]
        view_class = getattr(view, "view_class", None)
        operation = getattr(view_class, request.method.lower(), None) if view_class else view
        doc = getattr(operation, "_apidoc", None)
        if doc is None:
            return  # not an operation of the API (the docs' assets, the dashboard)
        parameters = doc.get("arguments", {}).get("parameters", [])
        if any(p.get("in") == "query" for p in parameters):
            return  # its schema decides
        unknown = sorted(request.args)
        message = f"Unknown query parameters: {', '.join(unknown)}; this operation takes none."
        abort(422, message=message, errors={"query": {n: ["Unknown field."] for n in unknown}})
