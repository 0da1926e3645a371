"""Correctness checks of the Triton depthwise conv (``layers.triton_dwconv``) against ``F.conv2d`` in float64.

    python tests/triton_dwconv_cases.py [--device cpu|cuda] [--large] [--json OUT]

On ``cpu`` the kernels run under Triton's interpreter: ``TRITON_INTERPRET=1`` is set here, before Triton is
imported, which is why ``test_triton_dwconv.py`` runs this file in a subprocess. On ``cuda`` they run compiled;
``--large`` adds the big shapes of the RepLKNet / UniRepLKNet stages (GPU only). Each check compares the output
and the input, weight and bias gradients; its error is ``max |ours - reference| / max |reference|``, which must
not exceed ``TOLERANCE[dtype]``: the low-precision results are rounded once from fp32 accumulators, at most one
unit in the last place (the interpreter truncates fp32 -> bf16 instead of rounding to nearest, hence a full unit).
Prints one markdown row per check; exit status 1 if any fails.
"""
import argparse
import json
import os
import sys
import time

TOLERANCE = {'float32': 1e-5, 'float16': 2 ** -10, 'bfloat16': 2 ** -7}

# name: ((n, c, h, w), (k_h, k_w), dtype, channels_last, bias); interpreter-sized (a few taps x programs each)
CASES = {
    'k3_fp32': ((2, 3, 8, 8), (3, 3), 'float32', False, True),
    'k5_fp16_cl_tiles': ((1, 3, 20, 40), (5, 5), 'float16', True, False),  # 2 x 2 output tiles
    'k7_bf16': ((2, 3, 9, 7), (7, 7), 'bfloat16', False, True),
    'k13_fp32_cl_small_map': ((1, 3, 5, 6), (13, 13), 'float32', True, True),  # map smaller than the kernel
    'k13_bf16_small_map': ((1, 3, 4, 4), (13, 13), 'bfloat16', False, False),
    'strip5x1_fp32': ((2, 5, 7, 6), (5, 1), 'float32', False, True),
    'strip1x5_bf16_cl': ((1, 8, 6, 9), (1, 5), 'bfloat16', True, False),
    'strip7x3_fp16': ((2, 3, 10, 4), (7, 3), 'float16', False, True),
    'strip3x7_fp32_cl_small_map': ((1, 4, 2, 3), (3, 7), 'float32', True, False),
}
LARGE_CASES = {
    'k31_fp32_56': ((8, 64, 56, 56), (31, 31), 'float32', False, True),
    'k31_fp16_cl_56': ((8, 64, 56, 56), (31, 31), 'float16', True, True),
    'k13_bf16_14': ((16, 256, 14, 14), (13, 13), 'bfloat16', False, False),
    'k29_fp32_7': ((16, 128, 7, 7), (29, 29), 'float32', True, True),  # map smaller than the kernel
    'strip51x5_fp16_56': ((4, 124, 56, 56), (51, 5), 'float16', False, True),
    'strip5x51_bf16_cl_28': ((4, 192, 28, 28), (5, 51), 'bfloat16', True, False),
}
EXTRA = ('autocast', 'unbatched', 'non_contiguous', 'empty_batch', 'backbone', 'shiftwise')


def _relative(ours, ref):
    if ref.numel() == 0:
        return 0.0 if ours.shape == ref.shape else float('inf')
    scale = ref.abs().max().item()
    return (ours.double() - ref).abs().max().item() / (scale or 1.0)


def check_conv(shape, kernel, dtype, channels_last, bias, device):
    """Relative errors of the output and the three gradients, and whether the output keeps the input's layout."""
    import torch
    import torch.nn.functional as F

    from largekernel.models.layers.triton_dwconv import depthwise_conv2d

    dtype = getattr(torch, dtype)
    n, c, h, w = shape
    x = torch.randn(shape, device=device).to(dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    weight = torch.randn(c, 1, *kernel, device=device).to(dtype)
    b = torch.randn(c, device=device).to(dtype) if bias else None
    grad = torch.randn(n, c, h, w, device=device).to(dtype)
    ours = [t.detach().clone().requires_grad_() for t in (x, weight, b) if t is not None]
    ref = [t.detach().double().requires_grad_() for t in (x, weight, b) if t is not None]
    out = depthwise_conv2d(*ours)
    out.backward(grad)
    expected = F.conv2d(ref[0], ref[1], ref[2] if bias else None, padding=(kernel[0] // 2, kernel[1] // 2), groups=c)
    expected.backward(grad.double())
    names = ('grad_input', 'grad_weight', 'grad_bias')
    errors = {'out': _relative(out, expected)}
    errors.update({name: _relative(o.grad, r.grad) for name, o, r in zip(names, ours, ref)})
    layout = torch.channels_last if channels_last else torch.contiguous_format
    dtypes_ok = out.dtype == dtype and all(o.grad.dtype == dtype for o in ours)
    finite = all(torch.isfinite(t).all().item() for t in [out] + [o.grad for o in ours])
    return errors, out.is_contiguous(memory_format=layout) and dtypes_ok and finite


def _module_pair(channels, kernel, device, bias=True):
    import torch
    from torch import nn

    from largekernel.models.layers.triton_dwconv import TritonDepthwiseConv2d

    native = nn.Conv2d(channels, channels, kernel, padding=(kernel[0] // 2, kernel[1] // 2), groups=channels,
                       bias=bias).to(device)
    ours = TritonDepthwiseConv2d(channels, channels, kernel, groups=channels, bias=bias).to(device)
    ours.load_state_dict(native.state_dict())
    return native, ours


def _compare_modules(native, ours, x):
    outs, grads = [], []
    for module in (native, ours):
        xi = x.detach().clone().requires_grad_()
        out = module(xi)
        out.square().sum().backward()
        outs.append(out)
        grads.append([xi.grad] + [p.grad for p in module.parameters()])
    errors = {'out': _relative(outs[1], outs[0].double())}
    for name, g_ours, g_ref in zip(('grad_input', 'grad_weight', 'grad_bias'), grads[1], grads[0]):
        errors[name] = _relative(g_ours, g_ref.double())
    return errors, outs[0].shape == outs[1].shape and outs[0].stride() == outs[1].stride()


def _check_autocast(device):
    """Under autocast the module computes in the autocast dtype, like ``nn.Conv2d``: its output has that dtype
    and matches the float64 conv of the inputs rounded to it; the fp32 parameters get their gradients."""
    import torch
    import torch.nn.functional as F

    dtype = torch.bfloat16 if device == 'cpu' else torch.float16
    native, ours = _module_pair(4, (7, 7), device)
    x = torch.randn(2, 4, 6, 9, device=device)
    grad = torch.randn(2, 4, 6, 9, device=device).to(dtype)
    outs = []
    for module in (native, ours):
        with torch.autocast(device_type=device, dtype=dtype):
            outs.append(module(x.clone().requires_grad_()))
    outs[1].backward(grad)
    ref = [t.detach().to(dtype).double().requires_grad_() for t in (x, ours.weight, ours.bias)]
    expected = F.conv2d(*ref, padding=3, groups=4)
    expected.backward(grad.double())
    errors = {'out': _relative(outs[1], expected), 'grad_weight': _relative(ours.weight.grad, ref[1].grad),
              'grad_bias': _relative(ours.bias.grad, ref[2].grad)}
    ok = outs[0].dtype == outs[1].dtype == dtype and ours.weight.grad.dtype == torch.float32
    return errors, ok, str(dtype).split('.')[-1]


def check_extra(name, device):
    """``autocast`` (see ``_check_autocast``), ``unbatched`` (a (C, H, W) input), ``non_contiguous`` (a sliced
    input), ``empty_batch`` (N = 0), ``backbone`` (a tiny UniRepLKNet with ``conv_impl='triton'`` vs ``'native'``,
    training and deploy forms), ``shiftwise`` (the SW operator's strips on Triton vs ``F.conv2d``: output and
    gradients in training, deploy output)."""
    import torch

    if name == 'autocast':
        return _check_autocast(device)
    if name == 'unbatched':
        native, ours = _module_pair(3, (5, 3), device)
        return (*_compare_modules(native, ours, torch.randn(3, 7, 6, device=device)), 'float32')
    if name == 'non_contiguous':
        native, ours = _module_pair(3, (7, 7), device, bias=False)
        x = torch.randn(2, 6, 9, 16, device=device)[:, ::2, :, 3:13]
        return (*_compare_modules(native, ours, x), 'float32')
    if name == 'empty_batch':
        native, ours = _module_pair(3, (7, 7), device)
        errors, ok = _compare_modules(native, ours, torch.randn(0, 3, 5, 5, device=device))
        return errors, ok and all(p.grad is not None and not p.grad.any() for p in ours.parameters()), 'float32'
    if name == 'backbone':
        return (*_check_backbone(device), 'float32')
    if name == 'shiftwise':
        return (*_check_shiftwise(device), 'float32')
    raise KeyError(f'unknown check {name!r}; valid: {EXTRA}')


def _check_backbone(device):
    import torch
    from mmengine.logging import MMLogger

    from largekernel.models.backbones.base import randomize_bn_stats
    from largekernel.models.backbones.unireplknet import UniRepLKNet
    from largekernel.models.layers.lk_conv import conv_impl

    arch = dict(depths=(1, 1, 1, 1), dims=(4, 4, 8, 8), kernel_sizes=((7,), (13,), (5,), (3,)))
    models = []
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # the backbones' implementation log lines would land in the printed table
    try:
        for impl in ('native', 'triton'):
            torch.manual_seed(0)
            models.append(UniRepLKNet(arch=arch, conv_impl=impl, out_indices=(0, 1, 2, 3),  # unit layer scale:
                                      layer_scale_init_value=1.0).to(device))  # the convs count in the output
    finally:
        logger.setLevel(level)
    randomize_bn_stats(models[0], torch.Generator().manual_seed(1))
    models[1].load_state_dict(models[0].state_dict())
    x = torch.randn(1, 3, 32, 32, device=device)
    errors, impls_ok = {}, True
    for form in ('train_form', 'deploy_form'):
        if form == 'deploy_form':
            for model in models:
                model.switch_to_deploy()
        with torch.no_grad():
            outs = [model.eval()(x) for model in models]
        errors[form] = max(_relative(o, r.double()) for o, r in zip(outs[1], outs[0]))
        impls_ok &= any(conv_impl(m) == 'triton' for m in models[1].modules())
    return errors, impls_ok


def _check_shiftwise(device):
    import torch

    from largekernel.models.backbones.shiftwise import ShiftWiseConv

    ops = []
    for impl in ('native', 'triton'):
        torch.manual_seed(0)
        ops.append(ShiftWiseConv(6, 13, conv_impl=impl).to(device))
    ops[1].load_state_dict(ops[0].state_dict())
    x = torch.randn(2, 6, 9, 7, device=device)
    grad = torch.randn(2, 6, 9, 7, device=device)
    results = []
    for op in ops:
        xi = x.clone().requires_grad_()
        out = op(xi)
        out.backward(grad)
        results.append([out.detach(), xi.grad, *(c.weight.grad for c in op.lk_convs)])
    errors = {f'train_{i}': _relative(o, r.double()) for i, (o, r) in enumerate(zip(results[1], results[0]))}
    with torch.no_grad():
        for op in ops:
            op.eval().reparameterize()
        outs = [op(x) for op in ops]
    errors['deploy'] = _relative(outs[1], outs[0].double())
    return errors, ops[1].functional_conv_impls == {'triton': 2}


def run(names, device):
    import torch

    results = []
    for i, name in enumerate(names):
        torch.manual_seed(i)
        start = time.perf_counter()
        if name in EXTRA:
            errors, ok, dtype = check_extra(name, device)
        else:
            shape, kernel, dtype, channels_last, bias = {**CASES, **LARGE_CASES}[name]
            errors, ok = check_conv(shape, kernel, dtype, channels_last, bias, device)
        passed = ok and all(e <= TOLERANCE[dtype] for e in errors.values())
        results.append(dict(name=name, dtype=dtype, errors=errors, layout_dtype_finite_ok=ok, passed=passed,
                            seconds=round(time.perf_counter() - start, 2)))
    return results


def markdown(results, device):
    lines = [f'| check ({device}) | dtype | max relative error | tolerance | time (s) | result |',
             '|---|---|---|---|---|---|']
    for r in results:
        worst = max(r['errors'], key=r['errors'].get)
        lines.append(f"| {r['name']} | {r['dtype']} | {r['errors'][worst]:.2e} ({worst}) | {TOLERANCE[r['dtype']]:.1e} "
                     f"| {r['seconds']} | {'pass' if r['passed'] else 'FAIL'} |")
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    parser.add_argument('--large', action='store_true', help='add the large GPU shapes')
    parser.add_argument('--only', nargs='+', help='run these checks only')
    parser.add_argument('--json', help='also write the results to this JSON file')
    args = parser.parse_args(argv)
    if args.large and args.device == 'cpu':
        parser.error('--large needs --device cuda (the interpreter would take hours)')
    if args.device == 'cpu':
        os.environ['TRITON_INTERPRET'] = '1'  # before triton is imported (by the first check)
    import torch

    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('triton_dwconv_cases.py --device cuda: torch.cuda.is_available() is False (no GPU or driver)')
    # the module checks compare with fp32 nn.Conv2d / nn.Linear: no TF32 rounding on the reference side
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    names = args.only or [*CASES, *(LARGE_CASES if args.large else ()), *EXTRA]
    results = run(names, args.device)
    print(markdown(results, args.device))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0 if all(r['passed'] for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
