# ImageNet-22K (21841 classes) pre-training at 224 with the ConvNeXt-codebase augmentation; no evaluation during
# pre-training, as in the official recipes (configs using this base set val_cfg = test_cfg = None themselves; the
# schedule base defines them). Override the crop with `scale=192` for the 192-pixel runs.
_base_ = './imagenet_bs128_convnext_224.py'

dataset_type = 'ImageNet21k'
data_preprocessor = dict(num_classes=21841)
train_dataloader = dict(dataset=dict(type=dataset_type, data_root='data/imagenet21k', split='train'))
val_dataloader = None
val_evaluator = None
test_dataloader = None
test_evaluator = None
