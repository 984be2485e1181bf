from .s2d_head import S2DHead  # noqa: F401,E402
