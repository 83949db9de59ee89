# Runtime of configs whose data have no references (real hazy photos): the default runtime with
# the visualiser keyed on what those samples hold (the input and the output, named by the input
# file) instead of ground truth.
_base_ = './default_runtime.py'

visualizer = dict(fn_key='img_path', img_keys=['input', 'pred_img'])
