"""Every trained model under a models folder: listed on load, read only on demand."""

from __future__ import annotations

from collections import defaultdict
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import (
    AbstractDataset,
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_protocol_and_path,
    parse_dataset_definition,
)

# Not "filename": Kedro turns the values of filename, filepath and path keys, at any
# depth of a catalog entry, into absolute paths.
_SPEC_KEYS = ("type", "file_name")


@dataclass(frozen=True)
class TrainedModel:
    """One trained approach on disk: its saved versions and how to read one.

    Attributes:
        family: Model family, e.g. ``"glove_haiku"``.
        approach: Approach within the family, e.g. ``"mean"``.
        filepath: The unversioned model path,
            ``<models>/<family>/<approach>/<file_name>``.
        versions: Every complete saved version, oldest first.
    """

    family: str
    approach: str
    filepath: str
    versions: tuple[str, ...]
    dataset_type: type[AbstractVersionedDataset] = field(repr=False)
    dataset_args: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """``<family>.<approach>``, the approach's namespace."""
        return f"{self.family}.{self.approach}"

    @property
    def version(self) -> str:
        """The latest version, the one Kedro's own versioned load would read."""
        return self.versions[-1]

    def load(self, version: str | None = None) -> Any:
        """Read one version (the latest by default) with the family's dataset.

        Args:
            version: A version string from ``versions``; ``None`` for the latest.

        Returns:
            The loaded model, as the family's own dataset returns it.

        Raises:
            DatasetError: If ``version`` is not one of ``versions``.
        """
        version = version or self.version
        if version not in self.versions:
            raise DatasetError(
                f"{self.name}: no model version {version!r} at '{self.filepath}'; "
                f"found {list(self.versions)}"
            )
        dataset = self.dataset_type(
            filepath=self.filepath,
            version=Version(version, None),
            **deepcopy(self.dataset_args),
        )
        return dataset.load()


class TrainedModelsDataset(AbstractDataset[None, dict[str, TrainedModel]]):
    """Read-only: ``{"<family>.<approach>": TrainedModel}`` for every trained approach.

    It lists the versioned layout the ``<family>.<approach>.trained_model`` entries
    of ``catalog_06_models.yml`` write,
    ``<path>/<family>/<approach>/<file_name>/<version>/<file_name>``, and reads no
    model until ``TrainedModel.load()`` is called, so a node can pick one model
    at run time without touching the catalog. Versions are ordered as Kedro orders
    them (its timestamps sort as strings); a version folder without the finished
    file (an interrupted save) is ignored, as Kedro ignores it.

    Example catalog entry::

        trained_models:
          type: agnews_pipeline.datasets.TrainedModelsDataset
          path: data/06_models
          families:
            glove_haiku:
              type: agnews_pipeline.datasets.HaikuModelDataset
              file_name: model.npz

    Any other key of a family's block is passed to its dataset (e.g. ``fs_args``).
    """

    def __init__(
        self,
        *,
        path: str,
        families: dict[str, dict[str, Any]],
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        protocol, root = get_protocol_and_path(path)
        self._protocol = protocol
        self._root = root.rstrip("/")
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **(fs_args or {}))
        self._families = {
            family: self._parse_family(family, spec)
            for family, spec in (families or {}).items()
        }
        for _, _, args in self._families.values():
            if credentials is not None:
                args.setdefault("credentials", deepcopy(credentials))
        self.metadata = metadata

    @staticmethod
    def _parse_family(
        family: str, spec: Any
    ) -> tuple[type[AbstractVersionedDataset], str, dict[str, Any]]:
        where = f"TrainedModelsDataset: families.{family}"
        if not isinstance(spec, dict) or any(key not in spec for key in _SPEC_KEYS):
            raise DatasetError(
                f"{where} is {spec!r}; expected a mapping with 'type' (the family's "
                "model dataset) and 'file_name' (e.g. model.npz)"
            )
        args = {k: v for k, v in spec.items() if k not in _SPEC_KEYS}
        filename = str(spec["file_name"])
        if not filename or "/" in filename:
            raise DatasetError(
                f"{where}.file_name is {filename!r}; expected a file name without '/'"
            )
        dataset_type, _ = parse_dataset_definition({"type": spec["type"]})
        if not issubclass(dataset_type, AbstractVersionedDataset):
            raise DatasetError(
                f"{where}.type {spec['type']!r} is not a versioned dataset; trained "
                "models are saved with versioned: true"
            )
        return dataset_type, filename, args

    def _join_protocol(self, path: str) -> str:
        return path if self._protocol == "file" else f"{self._protocol}://{path}"

    def load(self) -> dict[str, TrainedModel]:
        """List every trained approach of the configured families, reading no model."""
        models: dict[str, TrainedModel] = {}
        for family, (dataset_type, filename, args) in self._families.items():
            pattern = f"{self._root}/{family}/*/{filename}/*/{filename}"
            versions: dict[str, list[str]] = defaultdict(list)
            for found in self._fs.glob(pattern):
                *_, approach, _, version, _ = PurePosixPath(found).parts
                versions[approach].append(version)
            for approach in sorted(versions):
                models[f"{family}.{approach}"] = TrainedModel(
                    family=family,
                    approach=approach,
                    filepath=self._join_protocol(
                        f"{self._root}/{family}/{approach}/{filename}"
                    ),
                    versions=tuple(sorted(versions[approach])),
                    dataset_type=dataset_type,
                    dataset_args=args,
                )
        return models

    def save(self, data: dict[str, TrainedModel]) -> None:
        """Refuse: each approach saves its model through its own catalog entry."""
        raise DatasetError(
            "TrainedModelsDataset is read-only: a model is saved by its "
            "'<family>.<approach>.trained_model' dataset (catalog_06_models.yml)"
        )

    def _exists(self) -> bool:
        return bool(self.load())

    def _describe(self) -> dict[str, Any]:
        return {
            "path": self._join_protocol(self._root),
            "families": {
                family: {"type": dataset_type.__name__, "file_name": filename}
                for family, (dataset_type, filename, _) in self._families.items()
            },
        }
