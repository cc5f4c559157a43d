# Shim: productpage sets the global propagator once; nothing reads it back.
_textmap = None


def set_global_textmap(textmap):
    global _textmap
    _textmap = textmap
