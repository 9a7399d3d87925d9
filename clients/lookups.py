"""Database lookups the searches share.

Importing this module registers them on text fields (the app's ``ready()`` does).
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import CharField, Lookup, TextField
from django.db.models.lookups import Contains, IContains
from django.db.models.sql.where import OR, WhereNode


def _has_case(text: str) -> bool:
    return text.lower() != text.upper()


@CharField.register_lookup
@TextField.register_lookup
class IContainsAny(Lookup):
    """The column holds any of the texts, whatever their case:
    ``Q(caller_name__icontains_any=["ABC", "ＡＢＣ", "ａｂｃ"])``.

    On PostgreSQL one ``ILIKE ANY(ARRAY[...])``, which a trigram index
    (``call_search_trgm``) serves. Django's ``icontains`` is
    ``UPPER(column) LIKE UPPER(text)`` there, which no index serves: a search
    for letters read every call of the client (150 ms at 100,000 calls).
    Elsewhere the OR of ``icontains``.
    """

    lookup_name = "icontains_any"
    prepare_rhs = False

    def get_prep_lookup(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.rhs))

    def as_sql(self, compiler, connection):
        # SQLite folds the case of ASCII letters only: ＡＢＣ and ａｂｃ are two
        # conditions. Text without case (kana, kanji, digits) needs no folding,
        # which would cost on every row read where no index serves the text.
        conditions = [
            (IContains if _has_case(text) else Contains)(self.lhs, text)
            for text in self.rhs
        ]
        if not conditions:
            raise EmptyResultSet
        return compiler.compile(WhereNode(conditions, connector=OR))

    def as_postgresql(self, compiler, connection):
        # pg_trgm serves LIKE and ILIKE, against ANY(ARRAY[...]) too. ILIKE
        # folds full-width letters only in a UTF-8 locale: each variant is
        # looked for, so a database made with the "C" locale finds them too.
        texts = list(self.rhs)  # without repeats (get_prep_lookup)
        if not texts:
            raise EmptyResultSet
        # LIKE for text without case, as above: two letters give no trigram.
        operator = "ILIKE" if any(map(_has_case, texts)) else "LIKE"
        lhs_sql, params = self.process_lhs(compiler, connection)
        patterns = [f"%{connection.ops.prep_for_like_query(text)}%" for text in texts]
        placeholders = ", ".join(["%s"] * len(patterns))
        return (
            f"{lhs_sql} {operator} ANY(ARRAY[{placeholders}])",
            (*params, *patterns),
        )
