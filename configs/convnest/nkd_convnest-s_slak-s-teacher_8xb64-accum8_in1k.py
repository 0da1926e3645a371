# ConvNeSt-S distilled from a SLaK-S teacher with NKD, ImageNet-1K at 224: paper §4.2 and Table 4, row "ImageNet-1K
# knowledge distilled models / ConvNeSt-S": 84.4% top-1 (83.5% trained alone), with the recipe of appendix Table 11,
# column S: teacher SLaK-S, NKD, total batch 4096 = 8 GPUs x 64 x 8 accumulation steps, stochastic depth 0.1 (0.4
# in the plain S recipe), the rest as the ConvNeSt-T distillation config (see it for what Table 11 leaves out).
# The teacher: SLaK-S (83.8%) in its deploy form, from the official weights:
#   python tools/model_converters/convert.py slak OFFICIAL_SLAK_S.pth checkpoints/slak-s-deploy_in1k.pth --deploy
# The checkpoints saved are the student's alone: evaluate them with configs/convnest/convnest-s_8xb64-accum8_in1k.py.
_base_ = './convnest-s_8xb64-accum8_in1k.py'
model = dict(
    type='largekernel.DistillImageClassifier',
    backbone=dict(drop_path_rate=0.1),
    teacher='configs/slak/deploy/slak-s-deploy_8xb64-accum8_in1k.py',
    teacher_checkpoint='checkpoints/slak-s-deploy_in1k.pth',
    distill_loss=dict(type='largekernel.NKDLoss', temperature=1.0, gamma=1.5),
)
custom_hooks = []
