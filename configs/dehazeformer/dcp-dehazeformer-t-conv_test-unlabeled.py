# Evaluate the shipped base dehazer (or a checkpoint of its model: a BiLaLoRA merged one) on a
# folder of real hazy photos without references: FADE, NIQE, entropy, brightness ratio, colour
# cast and blockiness of output and input, the outputs and a per-image report
# (<work_dir>/test_report):
#   MMBILALORA_FADE_DIR=path/to/FADE python tools/test.py \
#       configs/dehazeformer/dcp-dehazeformer-t-conv_test-unlabeled.py \
#       mmbilalora://dcp-dehazeformer-t-conv_synhaze_clear-pristine \
#       --cfg-options test_dataloader.dataset.data_root=data/RTTS
_base_ = [
    '../_base_/unlabeled_runtime.py',
    '../_base_/models/dcp-dehazeformer-t-conv.py',
    '../_base_/datasets/unlabeled_hazy_test.py',
]
experiment_name = 'dcp-dehazeformer-t-conv_test-unlabeled'
work_dir = f'./work_dirs/{experiment_name}'
