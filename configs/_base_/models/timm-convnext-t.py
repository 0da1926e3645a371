# timm's ConvNeXt-T (Liu et al., "A ConvNet for the 2020s"), 28.6M parameters, 4.5 GFLOPs at 224: the baseline of the
# speed comparisons (RepLKNet Table 5, ShiftwiseConv Table 7) in tools/analysis_tools/benchmark.py. Randomly
# initialised: throughput only.
default_scope = 'mmpretrain'
model = dict(type='TimmClassifier', model_name='convnext_tiny', pretrained=False, num_classes=1000)
