from .s2d_data_preprocessor import S2DDataPreprocessor

__all__ = ['S2DDataPreprocessor']
