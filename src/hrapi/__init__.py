"""hrapi: the REST service of an HR data migration.

`create_app()` (in hrapi.app) is the WSGI entry: `gunicorn 'hrapi:create_app()'`. It is
imported when called, so that importing the package (as `hrapi.gunicorn_conf` does, before it
sets up the workers' metrics folder) loads nothing else.
"""

from __future__ import annotations


def create_app(settings=None):
    """Build the Flask app (see hrapi.app.create_app)."""
    from hrapi.app import create_app as build  # noqa: PLC0415 - see the module docstring

    return build(settings)
