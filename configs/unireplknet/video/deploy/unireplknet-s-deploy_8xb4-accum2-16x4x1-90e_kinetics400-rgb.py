# Deploy twin of ../unireplknet-s_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py: the same model, data and schedule with
# the re-parameterised UniRepLKNet (every Dilated Reparam Block one K x K conv, BNs folded); load a checkpoint
# converted with tools/model_converters/convert.py --deploy, or re-parameterise a trained one in place.
_base_ = ['../unireplknet-s_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py']

model = dict(backbone=dict(deploy=True))
