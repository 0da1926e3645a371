"""Repository-wide invariants: the suite runs the same from any working directory, and the repository explains
itself (no references to documents that are not in it)."""
import os.path as osp
import re
import subprocess
import sys

from conftest import ROOT

# documents that exist only outside the repository (the team's spec notes), in the forms they were cited
OUTSIDE_REFERENCES = re.compile(r'spec §|spec_[a-z_]+\.md|stack_notes\.md|shared/(specs|seeds)')


def _collected(cwd, *paths):
    result = subprocess.run([sys.executable, '-m', 'pytest', '--collect-only', '-q', '-p', 'no:cacheprovider',
                             *paths], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return sorted(line for line in result.stdout.splitlines() if '::' in line)


def test_collection_is_the_same_from_any_working_directory(tmp_path):
    names = ['test_configs.py', 'test_shiftwise.py', 'test_slak.py']
    inside = _collected(ROOT, *(f'tests/{n}' for n in names))
    outside = _collected(str(tmp_path), *(osp.join(ROOT, 'tests', n) for n in names))
    assert inside and [line.split('tests/')[-1] for line in outside] == [line.split('tests/')[-1] for line in inside]


def test_no_references_to_documents_outside_the_repository():
    files = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    hits = []
    for name in files:
        if name.endswith(('.py', '.md', '.sh', '.yml', '.yaml', '.txt', '.cfg', '.ini')) and name != 'tests/test_repository.py':
            with open(osp.join(ROOT, name), encoding='utf-8', errors='replace') as f:
                hits += [f'{name}:{i}' for i, line in enumerate(f, 1) if OUTSIDE_REFERENCES.search(line)]
    assert not hits, f'{len(hits)} references to documents outside the repository: {hits[:20]}'
