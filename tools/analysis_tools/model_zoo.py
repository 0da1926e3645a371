"""Render the model-zoo tables from the metafiles: our measured parameters and MACs next to the published ones.

    python tools/analysis_tools/model_zoo.py                  # print the tables
    python tools/analysis_tools/model_zoo.py --write          # update README.md and every configs/<family>/README.md
    python tools/analysis_tools/model_zoo.py --check          # exit 1 with a diff if any of them is stale
    python tools/analysis_tools/model_zoo.py --check --family slak   # only configs/slak/README.md

The tables live between ``<!-- model-zoo:start -->`` and ``<!-- model-zoo:end -->``. The published numbers come
from configs/<family>/metafile.yml (through largekernel.utils.model_index). Every ImageNet-1k classifier is built on
the meta device (no memory, no weights) with a 1000-class linear head; parameters are counted in the metafile's
``Params Form`` (deploy, training, or sparse: non-zero weights at the entry's ``Sparsity``), MACs of the deploy form
(of the sparse training form for ``sparse``) at the entry's input size, in the convention of
largekernel/utils/complexity.py.
"""
import argparse
import difflib
import functools
import os.path as osp
import sys

import torch
import yaml
from torch import nn

from largekernel import models
from largekernel.utils import count_macs, count_params
from largekernel.utils import model_index
from largekernel.utils.model_index import REPO_ROOT, list_models, load_collections
from largekernel.utils.sparsity import sparse_macs, sparse_param_count

START, END = '<!-- model-zoo:start -->', '<!-- model-zoo:end -->'
FORMS = {'deploy': 'deploy (re-parameterised) form', 'training': 'training form',
         'sparse': 'non-zero weights of the sparse training form'}


def family_of(collection):
    """configs/<family>/metafile.yml -> family."""
    return osp.basename(osp.dirname(collection['metafile']))


@functools.lru_cache(maxsize=None)
def measure(backbone, arch, form, input_size, sparsity=None, with_macs=True):
    """(params, MACs or None, dense params or None) of ``backbone`` ``arch`` + a 1000-class head."""
    cls = getattr(models, backbone)

    def classifier(deploy):
        with torch.device('meta'):
            net = cls(arch, deploy=deploy)
            return net, nn.Linear(net.channels[-1], 1000)

    inputs = torch.zeros(1, 3, input_size, input_size, device='meta')
    net, head = classifier(deploy=form == 'deploy')
    params = count_params(net) + count_params(head)
    if form == 'sparse':
        density = 1 - sparsity
        sparse = sparse_param_count(net, density=density) + round(density * head.weight.numel()) + head.bias.numel()
        macs = sparse_macs(net, density=density, inputs=inputs) + density * head.weight.numel() if with_macs else None
        return sparse, macs, params
    macs = None
    if with_macs:
        deployed, _ = classifier(deploy=True)
        macs = count_macs(deployed, inputs=inputs) + head.weight.numel()
    return params, macs, None


def _published(value, reference, unit, scale):
    """The published figure; a reference count that does not round to it is a correction and is shown too."""
    if value is None:
        return '-'
    text = f'{value / scale:g}'
    decimals = len(text.partition('.')[2])
    if reference is not None and round(reference / scale, decimals) != round(value / scale, decimals):
        return f'{text}{unit} (corrected: {reference / scale:g}{unit})'
    return text + unit


def _weights(entry):
    return f'[official]({entry.weights})' if entry.weights else '-'


def classification_table(entries, link):
    sparse = any(e.params_form == 'sparse' for e in entries)
    head = ('| model | arch | input | params (ours) | params (paper) | MACs (ours) | MACs (paper) | top-1 (paper) '
            '| weights |')
    rule = '|---|---|---|---|---|---|---|---|---|'
    if sparse:
        head, rule = head + ' dense params (ours) |', rule + '---|'
    lines = [head, rule]
    for e in entries:
        params, macs, dense = measure(e.backbone, e.arch, e.params_form, e.input_size, e.sparsity,
                                      with_macs=e.flops is not None)
        name = f'[{e.name}]({link(e.config)})' if e.config else f'{e.name} (no config)'
        cells = [name, e.arch, str(e.input_size), f'{params / 1e6:.2f}M',
                 _published(e.params, None, 'M', 1e6), f'{macs / 1e9:.2f}G' if macs is not None else '-',
                 _published(e.flops, e.reference.get('FLOPs'), 'G', 1e9),
                 f'{e.top1}' if e.top1 is not None else '-', _weights(e)]
        if sparse:
            cells.append(f'{dense / 1e6:.2f}M' if dense is not None else '-')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def downstream_table(entries, link):
    lines = ['| model | task | data | params (paper) | FLOPs (paper) | results (paper) |', '|---|---|---|---|---|---|']
    for e in entries:
        results = '; '.join(f'{k} {v}' for r in e.results for k, v in r['Metrics'].items()) or 'none published'
        tasks = ', '.join(dict.fromkeys(r['Task'] for r in e.results)) or '-'
        params = _published(e.params, None, 'M', 1e6)
        if e.params is None and 'Parameters' in e.reference:
            params = f'- (official code: {e.reference["Parameters"] / 1e6:.2f}M)'
        cells = [f'[{e.name}]({link(e.config)})', tasks, ' -> '.join(e.training_data),
                 params, _published(e.flops, None, 'G', 1e9)
                 + (f' at {e.input_size}' if e.flops else ''), results]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def render_family(collection, link):
    """Markdown lines of one collection: its ImageNet table, then its downstream table if it has one."""
    entries = list_models(collection=collection['Name'])
    classifiers = [e for e in entries if e.params is not None and e.training_data[-1] == 'ImageNet-1k']
    pretraining = [e for e in entries if e.training_data[-1] == 'ImageNet-21k']
    family_dir = osp.dirname(collection['metafile'])
    downstream = [e for e in entries if e.training_data[-1] not in ('ImageNet-1k', 'ImageNet-21k')]
    modalities = [e for e in downstream if e.config and osp.dirname(osp.dirname(e.config)) == family_dir]
    downstream = [e for e in downstream if e not in modalities]
    lines = []
    for backbone in dict.fromkeys(e.backbone for e in classifiers):
        group = [e for e in classifiers if e.backbone == backbone]
        forms = ', '.join(FORMS[f] for f in dict.fromkeys(e.params_form for e in group))
        lines += [f'**{backbone}**, ImageNet-1k (params: {forms}, 1000-class head; MACs: '
                  + ('sparse training form' if group[0].params_form == 'sparse' else 'deploy form') + ')', '']
        lines += classification_table(group, link) + ['']
    if pretraining:
        lines += [f'**{collection["Name"]}**, ImageNet-21k pre-training (21841 classes; no published evaluation)', '',
                  '| model | arch | input | weights |', '|---|---|---|---|']
        lines += [f'| [{e.name}]({link(e.config)}) | {e.arch} | {e.input_size} | {_weights(e)} |' for e in pretraining]
        lines += ['']
    if downstream:
        lines += [f'**{collection["Name"]}**, downstream (published results; params of the deploy-form detector / '
                  'segmentor)', '']
        lines += downstream_table(downstream, link) + ['']
    if modalities:
        lines += [f'**{collection["Name"]}**, other modalities (`{family_dir[len("configs/"):]}/<modality>/`; published '
                  'results; params of the whole model, in the form the metafile states)', '']
        lines += downstream_table(modalities, link) + ['']
    return lines


def render_root(collections):
    lines = ['Generated by `python tools/analysis_tools/model_zoo.py --write` from the metafiles '
             '(`configs/<family>/metafile.yml`); do not edit by hand.', '']
    for c in collections.values():
        family = family_of(c)
        lines += [f'### {c["Name"]} ([configs/{family}](configs/{family}/README.md))', '']
        lines += render_family(c, link=lambda config: config)
    return lines


def ablation_table(collection):
    """The metafile's ``Ablations`` (the papers' ablation rows with a config in ``ablations/``), published values."""
    with open(osp.join(model_index.REPO_ROOT, collection['metafile'])) as f:  # the metafiles, not the READMEs' root
        ablations = yaml.safe_load(f).get('Ablations') or []
    if not ablations:
        return []
    lines = [f'**{collection["Name"]}**, ablations (`ablations/`; the papers\' rows, published values; the switches '
             'are documented in the backbone)', '',
             '| config | table row | epochs | params (paper) | FLOPs (paper) | result (paper) |', '|---|---|---|---|---|---|']
    for a in ablations:
        config = osp.relpath(a['Config'], osp.dirname(collection['metafile']))
        cells = [f'[{a["Name"]}]({config})', a.get('Table', '-'), str(a.get('Epochs', '-')),
                 _published(a.get('Parameters'), None, 'M', 1e6), _published(a.get('FLOPs'), None, 'G', 1e9),
                 _ablation_result(a)]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines + ['']


def _ablation_result(row):
    """ImageNet rows publish a top-1; the other modalities' rows carry ``Results`` as model entries do."""
    if 'Results' in row:
        return '; '.join(f'{r["Dataset"]} {k} {v}' for r in row['Results'] for k, v in r['Metrics'].items())
    return f'top-1 {row["Top 1 Accuracy"]}' if 'Top 1 Accuracy' in row else '-'


def render_family_readme(collection):
    lines = ['Generated by `python tools/analysis_tools/model_zoo.py --write` from `metafile.yml`; do not edit by '
             'hand.', '']
    family_dir = osp.dirname(collection['metafile'])
    return (lines + render_family(collection, link=lambda config: osp.relpath(config, family_dir))
            + ablation_table(collection))


def replace_block(text, block, path):
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f'{path}: needs exactly one {START} ... {END} block')
    before, rest = text.split(START)
    _, after = rest.split(END)
    return f'{before}{START}\n' + '\n'.join(block).rstrip() + f'\n{END}{after}'


def targets(families):
    """[(README path, rendered block)] for the given families (all: the root README too)."""
    collections = load_collections()
    known = {family_of(c): c for c in collections.values()}
    unknown = sorted(set(families or ()) - set(known))
    if unknown:
        raise SystemExit(f'unknown family {unknown}; valid: {sorted(known)}')
    out = [] if families else [(osp.join(REPO_ROOT, 'README.md'), render_root(collections))]
    for family in families or known:
        out.append((osp.join(REPO_ROOT, 'configs', family, 'README.md'), render_family_readme(known[family])))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--family', nargs='+', help='only these configs/<family>/README.md (default: all + root)')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--write', action='store_true', help='write the tables into the READMEs')
    mode.add_argument('--check', action='store_true', help='exit 1 with a diff if a README is stale')
    args = parser.parse_args(argv)
    stale = []
    with torch.no_grad():
        blocks = targets(args.family)
    for path, block in blocks:
        if not (args.write or args.check):
            print(f'\n<!-- {osp.relpath(path, REPO_ROOT)} -->\n' + '\n'.join(block))
            continue
        with open(path) as f:
            text = f.read()
        new = replace_block(text, block, path)
        if args.write and new != text:
            with open(path, 'w') as f:
                f.write(new)
            print(f'updated {osp.relpath(path, REPO_ROOT)}')
        elif args.check and new != text:
            rel = osp.relpath(path, REPO_ROOT)
            sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True), rel,
                                                       f'{rel} (from the metafiles)'))
            stale.append(rel)
    if stale:
        print(f'\nstale: {", ".join(stale)}; run python tools/analysis_tools/model_zoo.py --write', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
