"""Every index costs each write of its table: none may repeat the start of another."""

from django.apps import apps
from django.db import models

PROJECT_APPS = ("clients", "answering", "reporting", "billing")


def _btree_indexes(model: type[models.Model]) -> dict[str, tuple[str, ...]]:
    """Name -> columns of the model's unconditional B-tree indexes and uniques."""
    meta = model._meta
    found: dict[str, tuple[str, ...]] = {}
    for field in meta.local_fields:
        if field.db_index or field.unique:
            found[f"{field.name} (field)"] = (field.column,)
    for index in meta.indexes:
        if index.condition is None and not index.opclasses and index.fields:
            found[index.name] = tuple(
                meta.get_field(name.lstrip("-")).column for name in index.fields
            )
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and (
            constraint.condition is None and constraint.fields
        ):
            found[constraint.name] = tuple(
                meta.get_field(name).column for name in constraint.fields
            )
    return found


def test_no_index_is_the_leading_part_of_another():
    redundant = []
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            indexes = _btree_indexes(model)
            for name, columns in indexes.items():
                if (
                    name.endswith("(field)")
                    and model._meta.get_field(name.split()[0]).unique
                ):
                    continue  # a unique column is a rule, not only an index
                for other, other_columns in indexes.items():
                    if other != name and other_columns[: len(columns)] == columns:
                        redundant.append(
                            f"{model.__name__}: {name} is covered by {other}"
                        )
    assert redundant == []
