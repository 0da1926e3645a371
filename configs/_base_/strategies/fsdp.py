# Fully sharded data parallel training (mmengine's FSDPStrategy, torch FSDP): add this file to a config's _base_ list
# to shard parameters, gradients and optimizer states over the processes (for UniRepLKNet-XL/H and RepLKNet-XL,
# which outgrow one GPU under DDP). Launch as usual (tools/dist_train.sh CONFIG GPUS); without GPUs it runs over CPU
# processes (gloo). Submodules with at least 1e7 parameters are sharded separately; checkpoints hold the full state
# dict (rank 0), so tools/test.py and the converters read them like DDP ones. The sparse-training hooks refuse it.
runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(type='MMFullyShardedDataParallel', use_orig_params=True,
                       auto_wrap_policy=dict(type='size_based_auto_wrap_policy', min_num_params=int(1e7))),
    # the full state dict, gathered to rank 0 through CPU memory ('full' in mmengine's shorthand)
    state_dict_cfg=dict(state_dict_type='FULL_STATE_DICT',
                        state_dict_config=dict(type='FullStateDictConfig', offload_to_cpu=True, rank0_only=True),
                        optim_state_dict_config=dict(type='FullOptimStateDictConfig', offload_to_cpu=True,
                                                     rank0_only=True)))
