from .s2d_recognizer import S2DRecognizer  # noqa: F401,E402
