# RepLKNet-31B, the 120-epoch ImageNet-1K setting of the paper's §4.2 studies (Appendix A): 32 GPUs x 64, AdamW lr
# 4e-3, weight decay 0.05, 10 warm-up epochs, cosine, drop path 0.3, the same augmentation. The appendix mentions no
# EMA for this setting, so there is none.
_base_ = './replknet-31B_8xb64-accum4_in1k.py'
model = dict(backbone=dict(drop_path_rate=0.3))
train_cfg = dict(max_epochs=120)
custom_hooks = []
