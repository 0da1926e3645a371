"""Print the README's model-zoo tables: our measured parameters and MACs next to the papers' numbers.

    python tools/analysis_tools/model_zoo.py [--family unireplknet ...]

Every variant is built on the meta device (no memory, no weights) with a 1000-class linear head. Parameters are
counted in the form each paper reports (UniRepLKNet, UniConvNet, ConvNeSt, SW: the inference form; RepLKNet and
SLaK: the training form, SLaK also at its 40% sparsity), MACs of the deploy form at the paper's resolution, in the
convention of largekernel/utils/complexity.py. The published numbers below are the targets the tests check.
"""
import argparse

import torch
from torch import nn

from largekernel.models import ConvNeSt, ConvNeStIsotropic, RepLKNet, ShiftWise, SLaK, UniConvNet, UniRepLKNet
from largekernel.utils import count_macs, count_params
from largekernel.utils.sparsity import sparse_macs, sparse_param_count

# family: (class, params counted in form, [(arch, published params M, published MACs G or None, resolution)])
PUBLISHED = {
    'UniRepLKNet': (UniRepLKNet, 'deploy', [
        ('A', 4.44, 0.64, 224), ('F', 6.24, 0.91, 224), ('P', 10.74, 1.57, 224), ('N', 18.32, 2.77, 224),
        ('T', 31.04, 4.90, 224), ('S', 55.65, 9.09, 224), ('S', 55.65, 26.7, 384), ('B', 98.01, 47.2, 384),
        ('L', 218.45, 105.4, 384), ('XL', 386.53, 187.0, 384), ('H', 1350.0, None, 224)]),
    'RepLKNet': (RepLKNet, 'training', [
        ('31B', 79.86, 15.35, 224), ('31L', 172.67, 95.99, 384), ('XL', 335.44, 128.73, 320)]),
    # SLaK publishes only its 40%-sparse counts: dense params are the spec's analytic count, MACs are sparse MACs
    'SLaK': (SLaK, 'training', [('T', 50.70, 5.0, 224), ('S', 91.13, 9.8, 224), ('B', 157.95, 17.1, 224)]),
    'ShiftWise': (ShiftWise, 'deploy', [('tiny', 31.00, 5.02, 224), ('small', 55.99, 9.33, 224)]),
    'UniConvNet': (UniConvNet, 'deploy', [
        ('A', 3.41, 0.589, 224), ('P0', 5.18, 0.932, 224), ('P1', 6.09, 0.895, 224), ('P2', 7.59, 1.25, 224),
        ('N0', 10.25, 1.65, 224), ('N1', 13.09, 1.88, 224), ('N2', 15.04, 2.47, 224), ('N3', 19.69, 3.37, 224),
        ('T', 30.33, 5.1, 224), ('S', 50.03, 8.48, 224), ('B', 97.66, 15.9, 224), ('L', 201.95, 100.1, 384),
        ('XL', 226.70, 115.2, 384)]),
    'ConvNeSt': (ConvNeSt, 'deploy', [
        ('A', 3.68, 0.67, 224), ('F', 5.08, 0.90, 224), ('P', 8.55, 1.5, 224), ('N', 15.06, 2.7, 224),
        ('T', 27.34, 4.8, 224), ('S', 50.09, 9.0, 224), ('B', 89.63, 16.1, 224)]),
    'ConvNeStIsotropic': (ConvNeStIsotropic, 'deploy', [
        ('A', 3.31, 0.62, 224), ('F', 4.09, 0.77, 224), ('P', 6.55, 1.2, 224), ('N', 10.54, 2.0, 224),
        ('T', 15.46, 3.0, 224), ('S', 22.51, 4.3, 224), ('B', 83.95, 16.3, 224)]),
}
SLAK_PUBLISHED_SPARSE = {'T': 30, 'S': 55, 'B': 95}  # SLaK Table: non-zero params at 40% sparsity (M)


def classifier(cls, arch, deploy):
    with torch.device('meta'):
        backbone = cls(arch, deploy=deploy)
        head = nn.Linear(backbone.channels[-1], 1000)
    return backbone, head


def rows(family):
    cls, form, variants = PUBLISHED[family]
    for arch, params_pub, macs_pub, size in variants:
        backbone, head = classifier(cls, arch, deploy=form == 'deploy')
        params = (count_params(backbone) + count_params(head)) / 1e6
        extra = ''
        if family == 'SLaK':
            sparse = (sparse_param_count(backbone, density=0.6) + round(0.6 * head.weight.numel()) + 1000) / 1e6
            extra = f'{sparse:.2f}M ({SLAK_PUBLISHED_SPARSE[arch]}M)'
        macs = None
        if family == 'SLaK':
            inputs = torch.zeros(1, 3, size, size, device='meta')
            macs = (sparse_macs(backbone, density=0.6, inputs=inputs) + 0.6 * head.weight.numel()) / 1e9
        elif macs_pub is not None:
            deployed, _ = classifier(cls, arch, deploy=True)
            inputs = torch.zeros(1, 3, size, size, device='meta')
            macs = (count_macs(deployed, inputs=inputs) + head.weight.numel()) / 1e9
        yield arch, size, params, params_pub, macs, macs_pub, extra


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--family', nargs='+', choices=sorted(PUBLISHED), default=list(PUBLISHED))
    args = parser.parse_args(argv)
    for family in args.family:
        form = PUBLISHED[family][1]
        sparse_col = ' | params at density 0.6 (paper)' if family == 'SLaK' else ''
        macs_form = 'training form at density 0.6' if family == 'SLaK' else 'deploy form'
        print(f'\n**{family}** (params: {form} form, 1000-class head; MACs: {macs_form})\n')
        print(f'| arch | input | params (ours) | params (paper) | MACs (ours) | MACs (paper){sparse_col} |')
        print('|---|---|---|---|---|---|' + ('---|' if sparse_col else ''))
        for arch, size, params, params_pub, macs, macs_pub, extra in rows(family):
            ours = f'{macs:.2f}G' if macs is not None else '-'
            paper = f'{macs_pub}G' if macs_pub is not None else '-'
            print(f'| {arch} | {size} | {params:.2f}M | {params_pub}M | {ours} | {paper} |'
                  + (f' {extra} |' if extra else ''))


if __name__ == '__main__':
    torch.set_grad_enabled(False)
    main()
