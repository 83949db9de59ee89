"""A minimal W3C WebDriver client (standard library only) for Debian's chromium-driver.

Enough to drive a page in headless Chromium: open a URL, find elements by CSS selector, type
into them (a file path into an ``<input type=file>`` uploads it), click, read attributes, take a
screenshot. The browser is started with the flags known to work in a closed network (no
background connections, no sandbox as root, a fresh profile).
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, List, Optional

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'
HEADLESS_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                  '--no-first-run', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']


def browser_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.path.isfile(CHROMEDRIVER)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class WebDriverError(RuntimeError):
    pass


class Browser:
    """Headless Chromium through chromedriver; use as a context manager."""

    def __init__(self, width: int = 1280, height: int = 900):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix='chromium-profile-')
        self.driver = subprocess.Popen([CHROMEDRIVER, f'--port={self.port}'],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f'http://127.0.0.1:{self.port}'
        self._wait_for_driver()
        args = HEADLESS_FLAGS + [f'--user-data-dir={self.profile}',
                                 f'--window-size={width},{height}']
        caps = {'capabilities': {'alwaysMatch': {
            'browserName': 'chrome', 'goog:chromeOptions': {'binary': CHROMIUM, 'args': args}}}}
        self.session = self._call('POST', '/session', caps)['sessionId']

    def _wait_for_driver(self, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + '/status', timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise WebDriverError('chromedriver did not start')

    def _call(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read() or b'{}').get('value')
        except urllib.error.HTTPError as err:
            raise WebDriverError(f'{method} {path}: {err.read()[:500]!r}') from None

    def _s(self, path: str) -> str:
        return f'/session/{self.session}{path}'

    def get(self, url: str) -> None:
        self._call('POST', self._s('/url'), {'url': url})

    def find_all(self, css: str) -> List[str]:
        found = self._call('POST', self._s('/elements'), {'using': 'css selector', 'value': css})
        return [e[ELEMENT] for e in found]

    def wait_for(self, css: str, timeout: float = 60) -> List[str]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.find_all(css)
            if found:
                return found
            time.sleep(0.5)
        raise WebDriverError(f'no element {css!r} after {timeout} s')

    def send_keys(self, element: str, text: str) -> None:
        self._call('POST', self._s(f'/element/{element}/value'), {'text': text})

    def click(self, element: str) -> None:
        self._call('POST', self._s(f'/element/{element}/click'), {})

    def attribute(self, element: str, name: str) -> Optional[str]:
        return self._call('GET', self._s(f'/element/{element}/attribute/{name}'))

    def execute(self, script: str, *args) -> Any:
        return self._call('POST', self._s('/execute/sync'), {'script': script,
                                                              'args': list(args)})

    def screenshot(self, path: str) -> None:
        with open(path, 'wb') as f:
            f.write(base64.b64decode(self._call('GET', self._s('/screenshot'))))

    def close(self) -> None:
        try:
            self._call('DELETE', self._s(''))
        finally:
            self.driver.terminate()
            self.driver.wait(10)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> 'Browser':
        return self

    def __exit__(self, *exc) -> None:
        self.close()
