from .dehaze_data_preprocessor import DehazeDataPreprocessor, PixelConvention, pixel_convention

__all__ = ['DehazeDataPreprocessor', 'PixelConvention', 'pixel_convention']
