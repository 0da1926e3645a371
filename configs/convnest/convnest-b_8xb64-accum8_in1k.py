# ConvNeSt-B (hierarchical): Table 9 "T/S/B" recipe (warm-up 20, EMA 0.9999) with stochastic depth 0.4; see the T
# and S configs. The paper's 384 x 384 result (85.4%) has no published fine-tuning recipe, so none is given here.
_base_ = './convnest-s_8xb64-accum8_in1k.py'
model = dict(backbone=dict(arch='B'), head=dict(in_channels=576))
