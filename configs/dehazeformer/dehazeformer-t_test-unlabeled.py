# Evaluate a DehazeFormer-t checkpoint (pretrained, merged BiLaLoRA or official) on a folder of
# real hazy photos with no-reference metrics (FADE, NIQE, entropy; output and input):
#   MMBILALORA_FADE_DIR=path/to/FADE python tools/test.py \
#       configs/dehazeformer/dehazeformer-t_test-unlabeled.py CHECKPOINT \
#       --cfg-options test_dataloader.dataset.data_root=data/RTTS
_base_ = [
    '../_base_/unlabeled_runtime.py',
    '../_base_/models/dehazeformer-t.py',
    '../_base_/datasets/unlabeled_hazy_test.py',
]
experiment_name = 'dehazeformer-t_test-unlabeled'
work_dir = f'./work_dirs/{experiment_name}'
