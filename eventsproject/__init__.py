"""The events processor's Django project."""

#: The one version of the service: pyproject.toml, the API schema and the User-Agent.
__version__ = "2.1.0"
