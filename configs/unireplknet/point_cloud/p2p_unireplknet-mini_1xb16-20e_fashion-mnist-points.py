# Small-data run of the ModelNet-40 recipe (p2p_unireplknet-s_1xb16-300e_modelnet40.py) on 2 CPU cores: the
# committed Fashion-MNIST point clouds (data/fashion_mnist_points: 10 classes, 400 training / 120 test clouds of
# 128 points, in ModelNet-40's layout; images as point sets after PointNet++ §4.1). Chance is 10%.
# Same pipeline and model structure, scaled down: 96 points, k=16 neighbours, a 28 x 28 projection grid on 32 x 32
# pictures, 4 views, a small fusion and a mini UniRepLKNet (13 x 13 / 7 x 7 Dilated Reparam Blocks see the whole
# 8 x 8 / 4 x 4 maps). The clouds are reliefs facing +z, so the training azimuth stays near the front (+-0.1 pi)
# and the test uses two fixed near-front rotations instead of the 8 around the shape.
_base_ = './p2p_unireplknet-s_1xb16-300e_modelnet40.py'

num_views = 2
model = dict(
    embedder=dict(num_views=num_views, grid_size=28, image_size=32, k=16, lift_channels=8, feat_channels=16,
                  fusion=dict(patch=4, dim=32, heads=2, head_dim=16, mlp_dim=64)),
    backbone=dict(arch=dict(_delete_=True, depths=(1, 1, 2, 1), dims=(32, 64, 128, 256),
                            kernel_sizes=((13,), (7,), (3, 3), (3,))), drop_path_rate=0.0),
    head=dict(num_classes=10, in_channels=256, num_views=num_views,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.2 * 10 / 9, mode='original')),
)

data_root = 'data/fashion_mnist_points'
num_points = 96
train_pipeline = [
    dict(type='largekernel.LoadPointCloud'),
    dict(type='largekernel.NormalizePoints'),
    dict(type='largekernel.PermuteAxes', order=(2, 0, 1), signs=(-1, -1, 1)),
    dict(type='largekernel.RandomPointSubset', num_points=num_points),
    dict(type='largekernel.ViewRotation', theta=(-0.1, 0.1), phi=(-0.4, -0.2)),
    dict(type='largekernel.RandomScaleTranslate', scale=(2 / 3, 3 / 2), translate=0.2),
    dict(type='largekernel.PackPointCloudInputs'),
]
test_pipeline = [
    dict(type='largekernel.LoadPointCloud'),
    dict(type='largekernel.NormalizePoints'),
    dict(type='largekernel.PermuteAxes', order=(2, 0, 1), signs=(-1, -1, 1)),
    dict(type='largekernel.FarthestPointSample', num_points=num_points),
    dict(type='largekernel.ViewRotation'),
    dict(type='largekernel.PackPointCloudInputs'),
]
dataset = dict(type='largekernel.ModelNet40', data_root=data_root, prefix='fashionmnist10')
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=60, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **dataset, split='test', test_rotations=[(-0.05, -0.3), (0.05, -0.3)],
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 20
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5, by_epoch=True, begin=0,
                        end=max_epochs)]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=5, max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
