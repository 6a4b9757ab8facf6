//! Catalog queries of well-known clients that PrismDB answers through an
//! equivalent query of its own, where the client's own cannot be planned.
//!
//! * asyncpg's type introspection (`typeinfo_tree`): a recursive CTE whose
//!   rows are computed with correlated subqueries (domain base types by a
//!   nested recursive CTE, composite attributes by aggregates). PrismDB has
//!   no domains, composite or range types, so those columns are NULL, and
//!   the recursion follows array element types only; the answer has the
//!   same columns, types and rows PostgreSQL gives for PrismDB's types.

/// The query to run in place of `sql`, if `sql` is one of those above.
pub fn substitute(sql: &str) -> Option<&'static str> {
    if sql.contains("typeinfo_tree") && sql.contains("attrtypoids") && sql.contains("$1::oid[]") {
        return Some(ASYNCPG_TYPE_INTROSPECTION);
    }
    None
}

const ASYNCPG_TYPE_INTROSPECTION: &str = "
WITH RECURSIVE typeinfo_tree(
    oid, ns, name, kind, basetype, elemtype, elemdelim,
    range_subtype, attrtypoids, attrnames, depth)
AS (
    SELECT t.oid, ns.nspname, t.typname, t.typtype, CAST(NULL AS oid), t.typelem,
        elem_t.typdelim, CAST(NULL AS oid), CAST(NULL AS oid[]), CAST(NULL AS text[]), 0
    FROM pg_catalog.pg_type AS t
        INNER JOIN pg_catalog.pg_namespace ns ON ns.oid = t.typnamespace
        LEFT JOIN pg_catalog.pg_type elem_t
            ON t.typlen = -1 AND t.typelem != 0 AND t.typelem = elem_t.oid
    WHERE t.oid = any($1::oid[])
    UNION ALL
    SELECT t.oid, ns.nspname, t.typname, t.typtype, CAST(NULL AS oid), t.typelem,
        elem_t.typdelim, CAST(NULL AS oid), CAST(NULL AS oid[]), CAST(NULL AS text[]),
        tt.depth + 1
    FROM pg_catalog.pg_type AS t
        INNER JOIN pg_catalog.pg_namespace ns ON ns.oid = t.typnamespace
        LEFT JOIN pg_catalog.pg_type elem_t
            ON t.typlen = -1 AND t.typelem != 0 AND t.typelem = elem_t.oid
        INNER JOIN typeinfo_tree tt ON t.oid = tt.elemtype
)
SELECT DISTINCT *,
    basetype::regtype::text AS basetype_name,
    elemtype::regtype::text AS elemtype_name,
    range_subtype::regtype::text AS range_subtype_name
FROM typeinfo_tree
ORDER BY depth DESC";
