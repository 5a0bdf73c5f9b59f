"""The README's DataLoader example runs as written, on the CPU. Where torch is not installed it
runs against a stand-in that has only what the example uses (`torch.from_numpy`,
`torch.utils.data.Dataset` / `DataLoader` with batch_size and shuffle)."""
import importlib.util
import random
import re
import sys
import types

import numpy as np

from conftest import REPO, make_clip


def readme_example():
    text = (REPO / "README.md").read_text()
    block = re.search(r"<!-- python-dataloader-example -->\n```python\n(.*?)```", text, re.S)
    assert block, "README.md has no DataLoader example"
    return block.group(1)


class _Tensor(np.ndarray):
    pass


class _DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=False):
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle

    def __iter__(self):
        order = list(range(len(self.dataset)))
        if self.shuffle:
            random.shuffle(order)
        for i in range(0, len(order), self.batch_size):
            yield np.stack([self.dataset[j] for j in order[i:i + self.batch_size]])


def stand_in_torch():
    torch = types.ModuleType("torch")
    torch.from_numpy = lambda a: a.view(_Tensor)
    utils = types.ModuleType("torch.utils")
    data = types.ModuleType("torch.utils.data")
    data.Dataset, data.DataLoader = object, _DataLoader
    torch.utils, utils.data = utils, data
    return {"torch": torch, "torch.utils": utils, "torch.utils.data": data}


def test_the_readme_dataloader_example_runs_as_written(tmp_path, monkeypatch, capsys):
    make_clip(tmp_path / "clip.mp4", frames=40)
    monkeypatch.chdir(tmp_path)
    if importlib.util.find_spec("torch") is None:
        for name, module in stand_in_torch().items():
            monkeypatch.setitem(sys.modules, name, module)
    exec(compile(readme_example(), "README.md", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out
    shapes = re.findall(r"\((\d+), (\d+), (\d+), (\d+), (\d+)\)", out)
    assert len(shapes) == 3, out  # 5 clips of 8 frames, batches of 2
    assert sorted(int(s[0]) for s in shapes) == [1, 2, 2]
    assert all(s[1:] == ("8", "3", "240", "320") for s in shapes)
