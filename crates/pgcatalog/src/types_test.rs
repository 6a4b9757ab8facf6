use super::*;

#[test]
fn column_types_format_as_postgresql_prints_them() {
    let cases = [
        (SqlType::Int32, "integer"),
        (SqlType::Varchar(Some(20)), "character varying(20)"),
        (SqlType::Varchar(None), "character varying"),
        (SqlType::Char(3), "character(3)"),
        (
            SqlType::Numeric {
                precision: 10,
                scale: 2,
                unconstrained: false,
            },
            "numeric(10,2)",
        ),
        (
            SqlType::Numeric {
                precision: 38,
                scale: 10,
                unconstrained: true,
            },
            "numeric",
        ),
        (SqlType::TimestampTz, "timestamp with time zone"),
    ];
    for (ty, want) in cases {
        let got = format_type(type_oid(&ty), Some(type_modifier(&ty)));
        assert_eq!(got.as_deref(), Some(want), "{ty:?}");
        assert_eq!(
            ty.pg_name(),
            want,
            "{ty:?} agrees with the catalog's own name"
        );
    }
    assert_eq!(format_type(1007, None).as_deref(), Some("integer[]"));
    assert_eq!(format_type(424242, None), None);
}

#[test]
fn every_array_type_names_its_element_and_back() {
    for t in BUILTIN_TYPES.iter().filter(|t| t.elem != 0) {
        let elem = by_oid(t.elem).expect("element type listed");
        assert_eq!(elem.array, t.oid, "{}", t.name);
    }
}
