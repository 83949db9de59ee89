"""BiLaLoRAHook: the schedule of BiLaLoRA (search -> top-k -> fine-tune), gate logging, export.

The hook owns time, not structure: the model injects LoRA when built; the hook decides when the
search ends, ranks the gates, asks the model to keep the top-k blocks
(``BiLaLoRADehazer.keep_blocks``, which returns the parameters it dropped) and the optim wrapper to
forget those parameters, and finally writes the adapter (and optionally a merged checkpoint).
Fine-tuning keeps the selected gates frozen (``finetune_gates='frozen'``, default) or, as the
authors' fine-tune stage does, trains them with the LoRA weights in a fresh LoRA optimizer at the
LoRA learning rate (``finetune_gates='trained'``).

Files written into the work dir (rank 0): ``data_split.json`` (the lower/upper split),
``gate_ranking.md`` / ``gate_ranking.json`` (ranking and the margin between the k-th and (k+1)-th
gate), ``gate_trajectory.png``, ``bilalora_adapter.pth`` and, with ``save_merged``,
``bilalora_merged.pth`` (a plain BaseEditModel checkpoint, loadable with ``load_from``).

Checkpoints carry ``checkpoint['bilalora']`` (phase, selection, gate trajectory, split
fingerprint); resuming in either phase restores them before the model and optimizer states load.
"""
import io
import os.path as osp
from typing import Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...models.editors.bilalora_dehazer import FINETUNE, SEARCH
from ...models.lora import extract_adapter, save_adapter, save_merged_checkpoint
from ...utils.atomic_io import atomic_dump_json, atomic_write_bytes
from mmagic.registry import HOOKS


FINETUNE_GATES = ('frozen', 'trained')
SEARCH_ONLY_SCALARS = ('train/gate/', 'train/loss_upper', 'train/hypergrad')


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def _loads_pretrained(module) -> bool:
    """Whether ``module``'s mmengine ``init_cfg`` loads a pretrained checkpoint."""
    init_cfg = getattr(module, 'init_cfg', None) or []
    return any(cfg.get('type') == 'Pretrained'
               for cfg in (init_cfg if isinstance(init_cfg, list) else [init_cfg]))


def rank_gates(gates: Dict[str, float], top_k: int) -> Dict:
    """Ranking of ``{block: gate value}`` with the top-k selection and its margin.

    Returns:
        dict(ranking=[(block, gate), ...] best first, selected=[...], margin=g_k - g_(k+1),
        spread=max - min of all gates).
    """
    ranking = sorted(gates.items(), key=lambda kv: (-kv[1], kv[0]))
    k = min(top_k, len(ranking))
    margin = ranking[k - 1][1] - ranking[k][1] if k < len(ranking) else float('nan')
    values = [v for _, v in ranking]
    return dict(ranking=ranking, selected=[b for b, _ in ranking[:k]], margin=margin,
                spread=max(values) - min(values))


def domain_prompts(loss) -> List:
    """The (hazy, clear) prompt pairs of ``loss`` with the largest ``prompt_weights`` (all
    pairs when it has no weights; none when it has no prompts)."""
    prompts = list(getattr(loss, 'prompts', ()))
    weights = getattr(loss, 'prompt_weights', None)
    if weights is None or len(weights) != len(prompts):
        return prompts
    weights = [float(w) for w in weights]
    return [p for p, w in zip(prompts, weights) if w >= max(weights) - 1e-6]


@HOOKS.register_module()
class BiLaLoRAHook(Hook):
    """Search for ``search_iters`` iterations (or ``search_epochs`` passes over the training
    dataloader), keep the ``top_k`` blocks by gate, fine-tune the rest of training.

    Args:
        search_iters / search_epochs: length of the search phase (give exactly one).
        top_k: number of blocks kept.
        log_interval: log gate values to the message hub (``train/gate/<block>``) every N
            iterations.
        save_adapter: write the adapter file after training.
        save_merged: also write a checkpoint with the adapters merged into the base weights.
        finetune_gates: ``'frozen'`` (kept gates fixed at their searched values) or
            ``'trained'`` (the authors' fine-tune stage: a fresh LoRA optimizer over the kept LoRA
            weights and gates, so the gates train at the LoRA learning rate).
        adapter_description: a short description stored in the adapter file (default: the
            generator, experiment name and iteration count). The file also carries the loss's
            prompts (for automatic routing between adapters): the pairs of the largest
            ``prompt_weights`` -- the domain's pairs; a lower-weighted pair such as
            ('a dark photo', 'a clear photo') regularises the loss and names no domain.
        keep_blocks: blocks to keep when the search ends instead of the top-k by gate (e.g. to
            time a given selection); None: the top-k.
        require_pretrained: refuse to start when nothing loads the base's weights (no
            ``load_from``, no resume, no ``init_cfg``): BiLaLoRA adapts a pretrained dehazer, and
            a randomly initialised one is almost always a forgotten ``load_from``. False for
            experiments on random networks (timing, tests).
    """

    priority = 'NORMAL'

    def __init__(self, search_iters: Optional[int] = None, search_epochs: Optional[float] = None,
                 top_k: int = 3, log_interval: int = 10, save_adapter: bool = True,
                 save_merged: bool = False, finetune_gates: str = 'frozen',
                 adapter_description: Optional[str] = None,
                 keep_blocks: Optional[List[str]] = None, require_pretrained: bool = True):
        if (search_iters is None) == (search_epochs is None):
            raise ValueError('BiLaLoRAHook needs exactly one of search_iters or search_epochs.')
        if top_k < 1:
            raise ValueError(f'top_k must be >= 1, got {top_k}')
        if finetune_gates not in FINETUNE_GATES:
            raise ValueError(f'finetune_gates must be one of {FINETUNE_GATES}, got '
                             f'{finetune_gates!r}')
        self.finetune_gates = finetune_gates
        self.search_iters_cfg = search_iters
        self.search_epochs = search_epochs
        self.top_k = top_k
        self.log_interval = log_interval
        self.save_adapter = save_adapter
        self.save_merged = save_merged
        self.adapter_description = adapter_description
        self.keep_blocks = list(keep_blocks) if keep_blocks is not None else None
        self.require_pretrained = require_pretrained
        self.search_iters: Optional[int] = search_iters
        self.selected: Optional[List[str]] = None
        self.trajectory: List[Dict] = []
        self.split_fingerprint: Optional[str] = None
        self.selection_info: Optional[Dict] = None

    # ---------------------------------------------------------------- helpers
    def _record(self, it: int, model) -> None:
        if not self.trajectory or self.trajectory[-1]['iter'] != it:
            self.trajectory.append(dict(iter=it, gates=model.gate_values()))

    def _apply_selection(self, runner, selected: List[str]) -> None:
        """Keep the ``selected`` blocks (the model drops the rest), update the optimizer."""
        model = _unwrap(runner.model)
        dropped = model.keep_blocks(selected, freeze_gates=self.finetune_gates == 'frozen')
        wrapper = runner.optim_wrapper
        if hasattr(wrapper, 'drop_params'):  # built (a config dict before the runner builds it)
            wrapper.drop_params(dropped)
            if self.finetune_gates == 'trained':
                gates = model.gates()
                wrapper.restart_lora_optimizer([gates[b].alpha for b in selected])
        self.selected = list(selected)

    # ---------------------------------------------------------------- hook points
    def before_train(self, runner) -> None:
        generator = _unwrap(runner.model).generator_module()
        if (self.require_pretrained and not runner._load_from and not runner._resume
                and not any(_loads_pretrained(m) for m in generator.modules())):
            raise ValueError(
                f'BiLaLoRA adapts a pretrained dehazer, but config {runner.cfg.filename!r} loads '
                f'no weights into its {type(generator).__name__}: set load_from to a checkpoint '
                '(e.g. --cfg-options load_from=PATH, or mmbilalora://'
                'dcp-dehazeformer-t-conv_synhaze_clear-pristine for the shipped base).')
        if self.search_iters is None:
            self.search_iters = max(1, round(self.search_epochs * len(runner.train_dataloader)))
        dataset = runner.train_dataloader.dataset
        if hasattr(dataset, 'split_info'):
            info = dataset.split_info()
            if self.split_fingerprint not in (None, info['fingerprint']):
                raise RuntimeError('The lower/upper data split differs from the checkpoint being '
                                   'resumed (different images or split_seed).')
            self.split_fingerprint = info['fingerprint']
            if is_main_process():
                atomic_dump_json(info, osp.join(runner.work_dir, 'data_split.json'))
        model = _unwrap(runner.model)
        if self.selected is None:
            model.phase = SEARCH
            self._record(runner.iter, model)
            print_log(f'BiLaLoRA: search for {self.search_iters} iterations, then keep the top '
                      f'{self.top_k} of {len(model.gates())} blocks.',
                      logger='current')
        else:
            print_log(f'BiLaLoRA: fine-tuning the kept blocks {self.selected}.',
                      logger='current')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        model = _unwrap(runner.model)
        done = runner.iter + 1
        if model.phase == SEARCH and (done % self.log_interval == 0 or done == self.search_iters):
            self._record(done, model)
            for block, value in self.trajectory[-1]['gates'].items():
                runner.message_hub.update_scalar(f'train/gate/{block}', value)
        if model.phase == SEARCH and done >= self.search_iters:
            self._select(runner, done)

    def _select(self, runner, done: int) -> None:
        model = _unwrap(runner.model)
        info = rank_gates(model.gate_values(), self.top_k)
        if self.keep_blocks is not None:
            info['selected'] = list(self.keep_blocks)
        info['iter'] = done
        self.selection_info = info
        self._apply_selection(runner, info['selected'])
        for key in [k for k in runner.message_hub.log_scalars
                    if k.startswith(SEARCH_ONLY_SCALARS)]:
            runner.message_hub.log_scalars.pop(key)  # search-only values: do not log stale ones
        print_log(f'BiLaLoRA: search ended at iteration {done}; kept {info["selected"]} '
                  f'(margin g_k - g_k+1 = {info["margin"]:.3g}, gate spread '
                  f'{info["spread"]:.3g}).', logger='current')
        if is_main_process():
            self._write_ranking(runner.work_dir, info)

    def _write_ranking(self, work_dir: str, info: Dict) -> None:
        lines = [f'# BiLaLoRA gate ranking (iteration {info["iter"]})', '',
                 '| rank | block | gate | kept |', '| --- | --- | --- | --- |']
        for rank, (block, value) in enumerate(info['ranking'], 1):
            kept = 'yes' if block in info['selected'] else ''
            lines.append(f'| {rank} | {block} | {value:.6f} | {kept} |')
        lines += ['', f'Margin between gate {len(info["selected"])} and the next: '
                  f'{info["margin"]:.6g}; spread of all gates: {info["spread"]:.6g}.',
                  'A margin that is small against the spread means the search was not '
                  'decisive (few gate updates or a low gate learning rate).', '']
        atomic_write_bytes(osp.join(work_dir, 'gate_ranking.md'), '\n'.join(lines).encode())
        atomic_dump_json(info, osp.join(work_dir, 'gate_ranking.json'))

    def after_train(self, runner) -> None:
        if not is_main_process():
            return
        model = _unwrap(runner.model)
        generator = model.generator_module()
        if self.trajectory:
            self._plot(osp.join(runner.work_dir, 'gate_trajectory.png'))
        if self.save_adapter:
            prompts = domain_prompts(model.unsupervised_loss)
            description = self.adapter_description or (
                f'BiLaLoRA adapter of {type(generator).__name__} ({runner.experiment_name}, '
                f'{runner.iter} iterations)')
            adapter = extract_adapter(
                generator, selected_blocks=self.selected,
                meta=dict(phase=model.phase, iter=runner.iter,
                          generator=type(generator).__name__),
                prompts=prompts, description=description)
            path = osp.join(runner.work_dir, 'bilalora_adapter.pth')
            save_adapter(adapter, path)
            print_log(f'BiLaLoRA: adapter written to {path}', logger='current')
        if self.save_merged:
            path = osp.join(runner.work_dir, 'bilalora_merged.pth')
            save_merged_checkpoint(generator, path, dict(iter=runner.iter,
                                                         selected=self.selected))
            print_log(f'BiLaLoRA: merged checkpoint written to {path}', logger='current')

    def _plot(self, path: str) -> None:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        iters = [p['iter'] for p in self.trajectory]
        blocks = list(self.trajectory[0]['gates'])
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
        for block in blocks:
            values = [p['gates'].get(block, float('nan')) for p in self.trajectory]
            style = '-' if self.selected and block in self.selected else ':'
            ax.plot(iters, values, style, label=block)
        if self.search_iters is not None:
            ax.axvline(self.search_iters, color='gray', lw=0.8)
        ax.set_xlabel('iteration')
        ax.set_ylabel('gate sigmoid(alpha)')
        ax.set_title('BiLaLoRA gates (solid: kept blocks)')
        if len(blocks) <= 20:
            ax.legend(fontsize=6, ncol=2)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format='png')
        plt.close(fig)
        atomic_write_bytes(path, buffer.getvalue())

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['bilalora'] = dict(
            phase=_unwrap(runner.model).phase, selected=self.selected,
            search_iters=self.search_iters, trajectory=self.trajectory,
            split_fingerprint=self.split_fingerprint, selection_info=self.selection_info)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('bilalora')
        if state is None:
            return
        self.trajectory = list(state.get('trajectory') or [])
        self.split_fingerprint = state.get('split_fingerprint')
        self.selection_info = state.get('selection_info')
        if state.get('phase') == FINETUNE and state.get('selected'):
            self._apply_selection(runner, state['selected'])
