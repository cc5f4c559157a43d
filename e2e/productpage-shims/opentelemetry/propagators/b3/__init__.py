# Shim: B3 propagation that forwards nothing (extract gives an empty context, inject adds no header).
class B3MultiFormat:
    def extract(self, carrier=None, context=None, **_kwargs):
        return {}

    def inject(self, carrier, context=None, **_kwargs):
        return None
