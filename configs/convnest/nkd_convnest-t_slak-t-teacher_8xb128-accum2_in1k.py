# ConvNeSt-T distilled from a SLaK-T teacher with NKD, ImageNet-1K at 224: paper §4.2 and Table 4, row "ImageNet-1K
# knowledge distilled models / ConvNeSt-T": 83.3% top-1 (82.7% trained alone), with the recipe of appendix Table 11,
# column T: teacher SLaK-T, NKD, total batch 2048 = 8 GPUs x 128 x 2 accumulation steps, AdamW (0.9, 0.999) lr 4e-3,
# weight decay 0.05, cosine, warm-up 20 epochs, stochastic depth 0.1, no gradient clipping, label smoothing 0.1,
# RandAugment (9, 0.5), Mixup 0.8, CutMix 1.0, random erasing 0.25 (the plain ConvNeSt-T recipe otherwise).
# Table 11 does not list: the epochs (300, as every ConvNeSt recipe), EMA (none here; the plain T recipe has one)
# and NKD's temperature and weight (the NKD paper's ImageNet values, temperature 1, gamma 1.5).
# The teacher: SLaK-T (82.5%) in its deploy form (identical outputs, faster), from the official weights:
#   python tools/model_converters/convert.py slak OFFICIAL_SLAK_T.pth checkpoints/slak-t-deploy_in1k.pth --deploy
# Loss: label-smoothed cross-entropy on the mixed labels (loss_cls) + NKD on the teacher's logits (loss_distill),
# NKD's target class being the dominant class of each mixed label. The checkpoints saved are the student's alone:
# evaluate them with configs/convnest/convnest-t_8xb128-accum4_in1k.py.
_base_ = './convnest-t_8xb128-accum4_in1k.py'
model = dict(
    type='largekernel.DistillImageClassifier',
    teacher='configs/slak/deploy/slak-t-deploy_8xb128-accum4_in1k.py',
    teacher_checkpoint='checkpoints/slak-t-deploy_in1k.pth',
    distill_loss=dict(type='largekernel.NKDLoss', temperature=1.0, gamma=1.5),
)
optim_wrapper = dict(accumulative_counts=2)
auto_scale_lr = dict(base_batch_size=2048)
custom_hooks = []
