"""The package's imports run one way: no module imports itself back, however indirectly.

The graph is read from the source (ast, so imports inside functions count too: a lazy import
is still a dependency, and a lazy cycle still tangles two files' jobs). Paths are relative
to this file, not the working directory.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _module_name(path: pathlib.Path) -> str:
  parts = list(path.relative_to(ROOT).with_suffix("").parts)
  if parts[-1] == "__init__":
    parts.pop()
  return ".".join(parts)


def import_graph(package: str = "jaxvision") -> dict[str, set[str]]:
  """{module: the package's modules it imports}; `from pkg import mod` points at pkg.mod."""
  files = sorted((ROOT / package).rglob("*.py"))
  modules = {_module_name(p): p for p in files}
  graph = {}
  for name, path in modules.items():
    is_package = path.name == "__init__.py"
    edges = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
      targets = []
      if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: resolve against this module's package
          anchor = name.split(".") if is_package else name.split(".")[:-1]
          anchor = anchor[:len(anchor) - node.level + 1]
          base = ".".join(anchor + ([base] if base else []))
        for alias in node.names:
          full = f"{base}.{alias.name}"
          targets.append(full if full in modules else base)
      for target in targets:
        # `import a.b.c` loads a.b.c; its longest prefix that is one of our modules
        while target and target not in modules:
          target = target.rpartition(".")[0]
        if target and target != name:
          edges.add(target)
    graph[name] = edges
  return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
  """The strongly connected components with more than one module (Tarjan), sorted."""
  index, low, stack, on_stack, out = {}, {}, [], set(), []

  def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in sorted(graph.get(v, ())):
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        out.append(sorted(component))

  for v in sorted(graph):
    if v not in index:
      visit(v)
  return sorted(out)


def test_cycle_finder_finds_a_known_cycle():
  # A closed form: a -> b -> c -> a is one cycle; d -> a hangs off it; e stands alone.
  graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
  assert cycles(graph) == [["a", "b", "c"]]


def test_graph_reads_the_package():
  graph = import_graph()
  assert len(graph) > 100, f"only {len(graph)} modules under {ROOT / 'jaxvision'}"
  # two edges that exist today, one a function-level import: a wrong parser must not pass
  assert "jaxvision.train.experiment" in graph["jaxvision.train.loop"]
  assert "jaxvision.data.sources" in graph["jaxvision.train.experiment"]


def test_no_import_cycles():
  found = cycles(import_graph())
  assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


if __name__ == "__main__":
  pytest.main([__file__])
