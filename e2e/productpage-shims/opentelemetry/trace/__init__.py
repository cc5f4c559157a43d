# Shim: the global tracer provider, as productpage sets and reads it.
_provider = None


def set_tracer_provider(provider):
    global _provider
    _provider = provider


def get_tracer(name, *_args, **_kwargs):
    return _provider.get_tracer(name) if _provider is not None else None
