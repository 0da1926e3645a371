# Downstream fine-tuning of a sparse SLaK / ShiftWise checkpoint: keep its ImageNet sparsity pattern (zeros stay
# zero after every optimizer step, as the official downstream code). Dense fine-tuning instead:
#   --cfg-options custom_hooks.0.dense_finetune=True
custom_hooks = [dict(type='largekernel.KeepSparsityHook', dense_finetune=False)]
