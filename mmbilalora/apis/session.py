"""DehazeSession: one loaded base with its adapter bank, for interactive use (the browser UI)."""
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..models.guidance import choose_guidance
from .adaptation import adapt
from .folder import AUTO, BASE, dehaze_folder
from .inference import load_dehazer
from .routing import PromptRouter


class DehazeSession:
    """The state and actions of an interactive session, independent of any UI toolkit.

    Args:
        config / checkpoint: the base model (see :func:`load_dehazer`; default: the shipped
            base).
        adapters: ``{name: adapter file}`` for the bank.
        work_dir: where results and adaptation runs are written.
        adapt_config: the BiLaLoRA config of :meth:`adapt` (default: the demo's).
        device: torch device.
    """

    def __init__(self, config: Optional[str] = None, checkpoint: Optional[str] = None,
                 adapters: Optional[Dict[str, str]] = None, work_dir: str = 'work_dirs/ui',
                 adapt_config: Optional[str] = None, device: str = 'cpu'):
        self.checkpoint = checkpoint
        self.adapt_config = adapt_config
        self.work_dir = osp.abspath(work_dir)
        self.device = device
        self.dehazer = load_dehazer(config, checkpoint, device=device, adapters=adapters)
        self._router: Optional[PromptRouter] = None

    @property
    def bank(self):
        return self.dehazer.adapters

    def choices(self) -> List[str]:
        """``base``, every adapter, and ``auto`` when there are two adapters or more."""
        names = self.bank.names
        return [BASE] + names + ([AUTO] if len(names) > 1 else [])

    def router(self) -> PromptRouter:
        """The router of the bank's adapters (rebuilt when the bank changes)."""
        names = self.bank.names
        if self._router is None or self._router.names != names:
            self._router = PromptRouter(
                {n: [p[0] for p in self.bank.info(n)['prompts']] for n in names},
                device=self.device)
        return self._router

    def dehaze_files(self, paths: Sequence[str], choice: str,
                     progress: Optional[Callable[[float, int], None]] = None
                     ) -> Tuple[List[Dict], List[Dict]]:
        """Dehaze image files with ``choice`` (base / adapter / auto) into a new folder of
        ``work_dir/results``; ``progress(photos_done, photos)`` as the work goes on (a float:
        the tiles of a large photo count).

        Returns:
            (results, failures): ``dict(input, output, adapter, scores, before, after)`` per
            photo (``before`` / ``after`` are the RGB arrays, ``output`` the written file) and
            ``dict(input, reason)`` per file that could not be processed.

        Raises:
            ValueError: ``choice`` is not one of :meth:`choices`.
        """
        if choice not in self.choices():
            raise ValueError(f'Unknown choice {choice!r}; choose one of {self.choices()}.')
        out_dir = osp.join(self.work_dir, 'results', time.strftime('%Y%m%d_%H%M%S'))
        results: List[Dict] = []

        def collect(row, before, after):
            results.append(dict(input=osp.basename(row['input']),
                                output=osp.join(out_dir, row['output']), adapter=row['adapter'],
                                scores=row.get('route_scores'), before=before, after=after))

        run = dehaze_folder(self.dehazer, list(paths), out_dir, route=choice,
                            router=self.router() if choice == AUTO else None, progress=False,
                            on_image=collect, on_progress=progress)
        return results, [dict(input=osp.basename(f['input']), reason=f['reason'])
                         for f in run.failed]

    def adapt(self, paths: Sequence[str], name: str, iters: int = 60, search: int = 20,
              crop: int = 96, progress: Optional[Callable[[int, int, str], None]] = None) -> str:
        """Train a BiLaLoRA adapter on the photos ``paths`` (:func:`~mmbilalora.apis.adapt`,
        from the session's base) and add it to the bank as ``name``; returns the adapter file.

        Raises:
            ValueError: no photos, or ``name`` is empty, reserved or taken.
        """
        if not paths:
            raise ValueError('Upload at least one photo to adapt to.')
        if not name or name in (BASE, AUTO) or name in self.bank.names:
            raise ValueError(f'Choose a new adapter name (not {BASE!r}, {AUTO!r} or an existing '
                             'adapter).')
        run_dir = osp.join(self.work_dir, 'adapt', f'{time.strftime("%Y%m%d_%H%M%S")}_{name}')
        guidance = choose_guidance()[2]
        adaptation = adapt(list(paths), run_dir, config=self.adapt_config,
                           checkpoint=self.checkpoint, iters=iters, search=search, crop=crop,
                           workers=0, progress=progress,
                           description=f'{name}: adapted in the UI to {len(paths)} photo(s), '
                           f'guidance {guidance}')
        self.bank.add(name, adaptation.adapter)
        return adaptation.adapter
