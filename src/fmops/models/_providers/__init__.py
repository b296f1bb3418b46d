"""Built-in providers, one module each, imported by name on first use (see fmops.models._registry)."""
