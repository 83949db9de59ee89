"""The browser UI (demo/gradio_dehaze.py) driven in a real headless Chromium.

Needs Debian's chromium and chromium-driver and an interpreter with gradio (``bash
tools/install_ui.sh --browser``): ``.venv-ui/bin/python``, ``$MMBILALORA_UI_PYTHON``, or the
test's own interpreter when it has gradio. Skipped otherwise, unless ``MMBILALORA_REQUIRE_UI=1``
(CI sets it): then it fails. ``MMBILALORA_UI_SCREENSHOT=PATH``
keeps the page's screenshot as a 256-colour PNG (the README's is made this way).
"""
import os
import os.path as osp
import re
import subprocess
import sys
import time
import urllib.request

import cv2
import numpy as np
import pytest

from conftest import ROOT
from helpers.webdriver import Browser, browser_available, free_port


def ui_python():
    candidates = [os.environ.get('MMBILALORA_UI_PYTHON'), osp.join(ROOT, '.venv-ui', 'bin',
                                                                     'python'), sys.executable]
    for python in filter(None, candidates):
        if osp.isfile(python) and subprocess.run(
                [python, '-c', 'import gradio'], capture_output=True).returncode == 0:
            return python
    return None


UI_MISSING = 'needs chromium, chromium-driver and gradio (bash tools/install_ui.sh --browser)'
if not browser_available() or ui_python() is None:
    if os.environ.get('MMBILALORA_REQUIRE_UI') == '1':
        raise RuntimeError(f'MMBILALORA_REQUIRE_UI=1: the browser test {UI_MISSING}')
    pytestmark = pytest.mark.skip(reason=UI_MISSING)


def wait_for_http(url, process, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f'the UI exited with {process.returncode}')
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f'{url} did not answer in {timeout} s')


@pytest.fixture(scope='module')
def ui(tmp_path_factory):
    """The UI on its default (shipped) base on a free port, with two test adapters for that
    architecture (random LoRA weights, day / night prompts) so that the page offers base, day,
    night and auto."""
    from test_adapter_bank import DAY_PROMPTS, NIGHT_PROMPTS, make_adapter, shipped_generator
    work = tmp_path_factory.mktemp('ui')
    adapters = []
    for name, blocks, prompts in (('day', ['network.layer3.blocks.*'], DAY_PROMPTS),
                                  ('night', ['network.layer2.blocks.*'], NIGHT_PROMPTS)):
        path = make_adapter(work / f'{name}.pth', blocks, 4, len(adapters), prompts,
                            f'test adapter (random weights), {name} prompts', 0.0, scale=0.002,
                            generator=shipped_generator())
        adapters.append(f'{name}={path}')
    port = free_port()
    log = open(work / 'ui.log', 'w')
    env = {k: v for k, v in os.environ.items() if k != 'MMBILALORA_CLIP_WEIGHTS'}
    env.update(HF_HUB_OFFLINE='1', GRADIO_ANALYTICS_ENABLED='False')
    process = subprocess.Popen([ui_python(), osp.join(ROOT, 'demo', 'gradio_dehaze.py'),
                                '--server-port', str(port), '--work-dir', str(work),
                                '--adapter', adapters[0], '--adapter', adapters[1]],
                               cwd=str(work), stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = f'http://127.0.0.1:{port}/'
        wait_for_http(url, process)
        yield url, work
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def test_upload_dehaze_and_get_an_image_of_the_same_size_back(ui, tmp_path):
    url, work = ui
    from mmbilalora.datasets.transforms.synthetic_haze import apply_scattering_model
    from mmbilalora.datasets.sample_images import load_skimage_photos
    photo = tmp_path / 'hazy_coffee.png'
    clear = cv2.resize(load_skimage_photos()['coffee'], (481, 321), interpolation=cv2.INTER_AREA)
    transmission = np.linspace(0.65, 0.3, 321, dtype=np.float32)[:, None].repeat(481, 1)
    hazy = apply_scattering_model(clear / np.float32(255), transmission,
                                  np.array([0.85, 0.85, 0.82], np.float32))
    cv2.imwrite(str(photo), np.round(hazy[..., ::-1] * 255).astype(np.uint8))
    with Browser() as browser:
        browser.get(url)
        upload = browser.wait_for('#photos input[type=file]', timeout=60)[0]
        browser.send_keys(upload, str(photo))
        browser.wait_for('#photos .file-preview, #photos table', timeout=60)
        labels = browser.execute("return [...document.querySelectorAll('#choice label')]"
                                 '.map(l => l.innerText.trim())')
        assert labels == ['base', 'day', 'night', 'auto']
        browser.click(browser.wait_for('#choice input[value=auto]')[0])
        browser.click(browser.wait_for('#dehaze')[0])
        results = browser.wait_for('#results img', timeout=180)
        source = browser.attribute(results[0], 'src')
        with urllib.request.urlopen(source, timeout=30) as response:
            returned = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
        assert returned.shape == (321, 481, 3)
        assert browser.find_all('#compare input[type=range]')
        # the slider reveals the "after" image up to its position
        browser.execute("const s = document.querySelector('#compare input[type=range]');"
                        "s.value = 80; s.dispatchEvent(new Event('input'));")
        clip = browser.execute("return document.querySelector('#compare img.after')"
                               '.style.clipPath')
        assert clip == 'inset(0px 0px 0px 80%)'
        browser.execute("const s = document.querySelector('#compare input[type=range]');"
                        "s.value = 50; s.dispatchEvent(new Event('input'));")
        report = browser.execute("return document.querySelector('#report').innerText")
        assert re.search(r'hazy_coffee\.png\s+481x321\s+day\s+day 0\.\d+, night', report), report
        shot = tmp_path / 'ui.png'
        browser.screenshot(str(shot))
    assert cv2.imread(str(shot)).shape[1] > 0
    keep = os.environ.get('MMBILALORA_UI_SCREENSHOT')
    if keep:  # kept small: a 256-colour PNG
        from PIL import Image
        with Image.open(shot) as image:
            image.convert('RGB').quantize(256).save(keep, optimize=True)
