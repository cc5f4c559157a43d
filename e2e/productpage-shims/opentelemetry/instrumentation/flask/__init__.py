# Shim: Flask instrumentation that leaves the app as it is.
class FlaskInstrumentor:
    def instrument_app(self, app, **_kwargs):
        return app
