"""ModuleList and ModuleDict: containers that register their modules (named "0", "1", ... or by key)."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from .modules import Module

__all__ = ["ModuleList", "ModuleDict"]


def _check(who: str, m: Any) -> Module:
    if not isinstance(m, Module):
        raise TypeError(f"{who} holds Modules only, got {type(m).__name__}")
    return m


class ModuleList(Module):
    """A list of modules whose parameters the owner sees (``model.parameters()``, ``state_dict``)."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _items(self) -> list[Module]:
        return list(self._modules.values())

    def _renumber(self, items: list[Module]) -> None:
        for k in list(self._modules):
            delattr(self, k)
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), _check("ModuleList", module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = self._items()
        items.insert(index, _check("ModuleList", module))
        self._renumber(items)

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return ModuleList(self._items()[i])
        return self._items()[i]

    def __setitem__(self, i: int, module: Module) -> None:
        items = self._items()
        items[i] = _check("ModuleList", module)
        self._renumber(items)

    def __delitem__(self, i: int | slice) -> None:
        items = self._items()
        del items[i]
        self._renumber(items)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(); call its modules in your own forward()")


class ModuleDict(Module):
    """A dict of modules (string keys, insertion order) whose parameters the owner sees."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys are strings, got {type(key).__name__}")
        self.add_module(key, _check("ModuleDict", module))

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for k, m in pairs:
            self[k] = m

    def pop(self, key: str) -> Module:
        m = self._modules[key]
        del self[key]
        return m

    def clear(self) -> None:
        for k in list(self._modules):
            del self[k]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward(); call its modules in your own forward()")
