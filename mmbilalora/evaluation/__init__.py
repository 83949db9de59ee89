from .fade import fade, fade_features, load_fade_models, to_uint8_rgb

__all__ = ['fade', 'fade_features', 'load_fade_models', 'to_uint8_rgb']
