# Runtime of BiLaLoRA adaptation configs (unlabeled data): BiLaLoRAHook with the paper's schedule
# of phases (search for 5 epochs, keep the top-3 blocks by gate, fine-tune the rest of training;
# writes the gate ranking and plot, the adapter and a merged checkpoint), the model wrapper for
# distributed training, epoch-based logging and checkpoints. The epochs, optimizers and learning
# rates are in schedules/bilalora.py.
_base_ = './unlabeled_runtime.py'

custom_hooks = [
    dict(type='BiLaLoRAHook', search_epochs=5, top_k=3, log_interval=10, save_adapter=True,
         save_merged=True),
]

# Two forward/backward passes per step go through the model's own train_step, so DDP wraps the
# generator alone; dropped adapters and frozen gates get no gradient after the phase switch.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=True)

log_processor = dict(by_epoch=True)
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=5))
