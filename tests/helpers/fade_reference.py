"""FADE of the LIVE MATLAB release (run under GNU Octave 7.3) on the release's sample images and
on the real hazy photos of ``../shared/data`` (paths relative to ``../shared``), to check the
port (tests, ``benchmarks/fade_port.py``)."""
FADE_RELEASE_VALUES = {
    'fade/test_image1.png': 0.911820, 'fade/test_image2.jpg': 2.710359,
    'fade/test_image3.jpg': 5.767439,
    'data/real_hazy/BJ_Baidu_544.jpeg': 4.423267, 'data/real_hazy/CD_Baidu_451.jpeg': 1.722793,
    'data/real_hazy/GSGL_Baidu_606.jpeg': 2.206055, 'data/real_hazy/XR_Bing_179.jpeg': 4.380996,
    'data/real_hazy/canon_input.png': 2.763265, 'data/real_hazy/castle_input.png': 1.050678,
    'data/real_hazy/cityscape_input.png': 2.388668, 'data/real_hazy/cliff_input.png': 1.591338,
    'data/real_hazy/dolls_input.png': 1.260598, 'data/real_hazy/flags_input.png': 0.674881,
    'data/real_hazy/house_input.png': 0.261376, 'data/real_hazy/road_input.png': 0.962938,
}
