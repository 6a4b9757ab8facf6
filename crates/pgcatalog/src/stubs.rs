//! `pg_catalog` relations of objects PrismDB does not have (yet): row
//! security policies, triggers, rules, publications, extended statistics,
//! foreign data, locks, operators, functions, replication... Each has
//! PostgreSQL 15's columns and no rows, so the catalog queries of psql,
//! drivers and tools that join them run and find nothing, as on a database
//! without such objects.

use crate::tables::{Kind, Relation};

/// The relations.
pub const STUBS: &[Relation] = &[
    PG_SEQUENCE,
    PG_INHERITS,
    PG_POLICY,
    PG_STATISTIC_EXT,
    PG_PUBLICATION,
    PG_PUBLICATION_REL,
    PG_PUBLICATION_NAMESPACE,
    PG_TRIGGER,
    PG_REWRITE,
    PG_PROC,
    PG_AGGREGATE,
    PG_LOCKS,
    PG_DEPEND,
    PG_SHDESCRIPTION,
    PG_OPERATOR,
    PG_LANGUAGE,
    PG_AUTH_MEMBERS,
    PG_TABLESPACE,
    PG_EVENT_TRIGGER,
    PG_FOREIGN_TABLE,
    PG_FOREIGN_SERVER,
    PG_FOREIGN_DATA_WRAPPER,
    PG_PARTITIONED_TABLE,
    PG_OPCLASS,
    PG_AMOP,
    PG_CAST,
    PG_CONVERSION,
    PG_DEFAULT_ACL,
    PG_INIT_PRIVS,
    PG_SECLABEL,
    PG_SHDEPEND,
    PG_RANGE,
    PG_TS_CONFIG,
    PG_TS_DICT,
    PG_TS_PARSER,
    PG_TS_TEMPLATE,
    PG_TRANSFORM,
    PG_USER_MAPPING,
    PG_LARGEOBJECT_METADATA,
    PG_PREPARED_XACTS,
    PG_MATVIEWS,
    PG_SEQUENCES,
    PG_STAT_USER_INDEXES,
    PG_STATIO_USER_TABLES,
    PG_REPLICATION_SLOTS,
    PG_STAT_REPLICATION,
    PG_TIMEZONE_NAMES,
    PG_TIMEZONE_ABBREVS,
    PG_AVAILABLE_EXTENSIONS,
    PG_SHADOW,
    PG_GROUP,
    PG_RULES,
    PG_POLICIES,
    PG_STATS,
    PG_STAT_DATABASE,
];

/// Whether `name` is one of these relations (so a query reading only it
/// returns no rows).
pub fn is_stub(name: &str) -> bool {
    STUBS.iter().any(|r| r.name == name)
}

const PG_POLICY: Relation = Relation {
    name: "pg_policy",
    columns: &[
        ("oid", Kind::Oid),
        ("polname", Kind::Name),
        ("polrelid", Kind::Oid),
        ("polcmd", Kind::Char),
        ("polpermissive", Kind::Bool),
        ("polroles", Kind::TextArray),
        ("polqual", Kind::Text),
        ("polwithcheck", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_STATISTIC_EXT: Relation = Relation {
    name: "pg_statistic_ext",
    columns: &[
        ("oid", Kind::Oid),
        ("stxrelid", Kind::Oid),
        ("stxname", Kind::Name),
        ("stxnamespace", Kind::Oid),
        ("stxowner", Kind::Oid),
        ("stxstattarget", Kind::I32),
        ("stxkeys", Kind::TextArray),
        ("stxkind", Kind::TextArray),
        ("stxexprs", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_PUBLICATION: Relation = Relation {
    name: "pg_publication",
    columns: &[
        ("oid", Kind::Oid),
        ("pubname", Kind::Name),
        ("pubowner", Kind::Oid),
        ("puballtables", Kind::Bool),
        ("pubinsert", Kind::Bool),
        ("pubupdate", Kind::Bool),
        ("pubdelete", Kind::Bool),
        ("pubtruncate", Kind::Bool),
        ("pubviaroot", Kind::Bool),
    ],
    rows: |_| Vec::new(),
};

const PG_PUBLICATION_REL: Relation = Relation {
    name: "pg_publication_rel",
    columns: &[
        ("oid", Kind::Oid),
        ("prpubid", Kind::Oid),
        ("prrelid", Kind::Oid),
        ("prqual", Kind::Text),
        ("prattrs", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_PUBLICATION_NAMESPACE: Relation = Relation {
    name: "pg_publication_namespace",
    columns: &[
        ("oid", Kind::Oid),
        ("pnpubid", Kind::Oid),
        ("pnnspid", Kind::Oid),
    ],
    rows: |_| Vec::new(),
};

const PG_TRIGGER: Relation = Relation {
    name: "pg_trigger",
    columns: &[
        ("oid", Kind::Oid),
        ("tgrelid", Kind::Oid),
        ("tgparentid", Kind::Oid),
        ("tgname", Kind::Name),
        ("tgfoid", Kind::Oid),
        ("tgtype", Kind::I16),
        ("tgenabled", Kind::Char),
        ("tgisinternal", Kind::Bool),
        ("tgconstrrelid", Kind::Oid),
        ("tgconstrindid", Kind::Oid),
        ("tgconstraint", Kind::Oid),
        ("tgdeferrable", Kind::Bool),
        ("tginitdeferred", Kind::Bool),
        ("tgnargs", Kind::I16),
        ("tgattr", Kind::TextArray),
        ("tgargs", Kind::Text),
        ("tgqual", Kind::Text),
        ("tgoldtable", Kind::Name),
        ("tgnewtable", Kind::Name),
    ],
    rows: |_| Vec::new(),
};

const PG_REWRITE: Relation = Relation {
    name: "pg_rewrite",
    columns: &[
        ("oid", Kind::Oid),
        ("rulename", Kind::Name),
        ("ev_class", Kind::Oid),
        ("ev_type", Kind::Char),
        ("ev_enabled", Kind::Char),
        ("is_instead", Kind::Bool),
        ("ev_qual", Kind::Text),
        ("ev_action", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_PROC: Relation = Relation {
    name: "pg_proc",
    columns: &[
        ("oid", Kind::Oid),
        ("proname", Kind::Name),
        ("pronamespace", Kind::Oid),
        ("proowner", Kind::Oid),
        ("prolang", Kind::Oid),
        ("procost", Kind::F32),
        ("prorows", Kind::F32),
        ("provariadic", Kind::Oid),
        ("prosupport", Kind::Oid),
        ("prokind", Kind::Char),
        ("prosecdef", Kind::Bool),
        ("proleakproof", Kind::Bool),
        ("proisstrict", Kind::Bool),
        ("proretset", Kind::Bool),
        ("provolatile", Kind::Char),
        ("proparallel", Kind::Char),
        ("pronargs", Kind::I16),
        ("pronargdefaults", Kind::I16),
        ("prorettype", Kind::Oid),
        ("proargtypes", Kind::OidVector),
        ("proallargtypes", Kind::OidVector),
        ("proargmodes", Kind::TextArray),
        ("proargnames", Kind::TextArray),
        ("proargdefaults", Kind::Text),
        ("protrftypes", Kind::TextArray),
        ("prosrc", Kind::Text),
        ("probin", Kind::Text),
        ("prosqlbody", Kind::Text),
        ("proconfig", Kind::TextArray),
        ("proacl", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_AGGREGATE: Relation = Relation {
    name: "pg_aggregate",
    columns: &[
        ("aggfnoid", Kind::Oid),
        ("aggkind", Kind::Char),
        ("aggnumdirectargs", Kind::I16),
        ("aggtransfn", Kind::Oid),
        ("aggfinalfn", Kind::Oid),
        ("aggcombinefn", Kind::Oid),
        ("aggserialfn", Kind::Oid),
        ("aggdeserialfn", Kind::Oid),
        ("aggmtransfn", Kind::Oid),
        ("aggminvtransfn", Kind::Oid),
        ("aggmfinalfn", Kind::Oid),
        ("aggfinalextra", Kind::Bool),
        ("aggmfinalextra", Kind::Bool),
        ("aggfinalmodify", Kind::Char),
        ("aggmfinalmodify", Kind::Char),
        ("aggsortop", Kind::Oid),
        ("aggtranstype", Kind::Oid),
        ("aggtransspace", Kind::I32),
        ("aggmtranstype", Kind::Oid),
        ("aggmtransspace", Kind::I32),
        ("agginitval", Kind::Text),
        ("aggminitval", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_LOCKS: Relation = Relation {
    name: "pg_locks",
    columns: &[
        ("locktype", Kind::Text),
        ("database", Kind::Oid),
        ("relation", Kind::Oid),
        ("page", Kind::I32),
        ("tuple", Kind::I16),
        ("virtualxid", Kind::Text),
        ("transactionid", Kind::Oid),
        ("classid", Kind::Oid),
        ("objid", Kind::Oid),
        ("objsubid", Kind::I16),
        ("virtualtransaction", Kind::Text),
        ("pid", Kind::I32),
        ("mode", Kind::Text),
        ("granted", Kind::Bool),
        ("fastpath", Kind::Bool),
        ("waitstart", Kind::TimestampTz),
    ],
    rows: |_| Vec::new(),
};

const PG_DEPEND: Relation = Relation {
    name: "pg_depend",
    columns: &[
        ("classid", Kind::Oid),
        ("objid", Kind::Oid),
        ("objsubid", Kind::I32),
        ("refclassid", Kind::Oid),
        ("refobjid", Kind::Oid),
        ("refobjsubid", Kind::I32),
        ("deptype", Kind::Char),
    ],
    rows: |_| Vec::new(),
};

const PG_SHDESCRIPTION: Relation = Relation {
    name: "pg_shdescription",
    columns: &[
        ("objoid", Kind::Oid),
        ("classoid", Kind::Oid),
        ("description", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_OPERATOR: Relation = Relation {
    name: "pg_operator",
    columns: &[
        ("oid", Kind::Oid),
        ("oprname", Kind::Name),
        ("oprnamespace", Kind::Oid),
        ("oprowner", Kind::Oid),
        ("oprkind", Kind::Char),
        ("oprcanmerge", Kind::Bool),
        ("oprcanhash", Kind::Bool),
        ("oprleft", Kind::Oid),
        ("oprright", Kind::Oid),
        ("oprresult", Kind::Oid),
        ("oprcom", Kind::Oid),
        ("oprnegate", Kind::Oid),
        ("oprcode", Kind::Oid),
        ("oprrest", Kind::Oid),
        ("oprjoin", Kind::Oid),
    ],
    rows: |_| Vec::new(),
};

const PG_LANGUAGE: Relation = Relation {
    name: "pg_language",
    columns: &[
        ("oid", Kind::Oid),
        ("lanname", Kind::Name),
        ("lanowner", Kind::Oid),
        ("lanispl", Kind::Bool),
        ("lanpltrusted", Kind::Bool),
        ("lanplcallfoid", Kind::Oid),
        ("laninline", Kind::Oid),
        ("lanvalidator", Kind::Oid),
        ("lanacl", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_AUTH_MEMBERS: Relation = Relation {
    name: "pg_auth_members",
    columns: &[
        ("roleid", Kind::Oid),
        ("member", Kind::Oid),
        ("grantor", Kind::Oid),
        ("admin_option", Kind::Bool),
    ],
    rows: |_| Vec::new(),
};

const PG_TABLESPACE: Relation = Relation {
    name: "pg_tablespace",
    columns: &[
        ("oid", Kind::Oid),
        ("spcname", Kind::Name),
        ("spcowner", Kind::Oid),
        ("spcacl", Kind::TextArray),
        ("spcoptions", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_EVENT_TRIGGER: Relation = Relation {
    name: "pg_event_trigger",
    columns: &[
        ("oid", Kind::Oid),
        ("evtname", Kind::Name),
        ("evtevent", Kind::Name),
        ("evtowner", Kind::Oid),
        ("evtfoid", Kind::Oid),
        ("evtenabled", Kind::Char),
        ("evttags", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_FOREIGN_TABLE: Relation = Relation {
    name: "pg_foreign_table",
    columns: &[
        ("ftrelid", Kind::Oid),
        ("ftserver", Kind::Oid),
        ("ftoptions", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_FOREIGN_SERVER: Relation = Relation {
    name: "pg_foreign_server",
    columns: &[
        ("oid", Kind::Oid),
        ("srvname", Kind::Name),
        ("srvowner", Kind::Oid),
        ("srvfdw", Kind::Oid),
        ("srvtype", Kind::Text),
        ("srvversion", Kind::Text),
        ("srvacl", Kind::TextArray),
        ("srvoptions", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_FOREIGN_DATA_WRAPPER: Relation = Relation {
    name: "pg_foreign_data_wrapper",
    columns: &[
        ("oid", Kind::Oid),
        ("fdwname", Kind::Name),
        ("fdwowner", Kind::Oid),
        ("fdwhandler", Kind::Oid),
        ("fdwvalidator", Kind::Oid),
        ("fdwacl", Kind::TextArray),
        ("fdwoptions", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_PARTITIONED_TABLE: Relation = Relation {
    name: "pg_partitioned_table",
    columns: &[
        ("partrelid", Kind::Oid),
        ("partstrat", Kind::Char),
        ("partnatts", Kind::I16),
        ("partdefid", Kind::Oid),
        ("partattrs", Kind::TextArray),
        ("partclass", Kind::TextArray),
        ("partcollation", Kind::TextArray),
        ("partexprs", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_OPCLASS: Relation = Relation {
    name: "pg_opclass",
    columns: &[
        ("oid", Kind::Oid),
        ("opcmethod", Kind::Oid),
        ("opcname", Kind::Name),
        ("opcnamespace", Kind::Oid),
        ("opcowner", Kind::Oid),
        ("opcfamily", Kind::Oid),
        ("opcintype", Kind::Oid),
        ("opcdefault", Kind::Bool),
        ("opckeytype", Kind::Oid),
    ],
    rows: |_| Vec::new(),
};

const PG_AMOP: Relation = Relation {
    name: "pg_amop",
    columns: &[
        ("oid", Kind::Oid),
        ("amopfamily", Kind::Oid),
        ("amoplefttype", Kind::Oid),
        ("amoprighttype", Kind::Oid),
        ("amopstrategy", Kind::I16),
        ("amoppurpose", Kind::Char),
        ("amopopr", Kind::Oid),
        ("amopmethod", Kind::Oid),
        ("amopsortfamily", Kind::Oid),
    ],
    rows: |_| Vec::new(),
};

const PG_CAST: Relation = Relation {
    name: "pg_cast",
    columns: &[
        ("oid", Kind::Oid),
        ("castsource", Kind::Oid),
        ("casttarget", Kind::Oid),
        ("castfunc", Kind::Oid),
        ("castcontext", Kind::Char),
        ("castmethod", Kind::Char),
    ],
    rows: |_| Vec::new(),
};

const PG_CONVERSION: Relation = Relation {
    name: "pg_conversion",
    columns: &[
        ("oid", Kind::Oid),
        ("conname", Kind::Name),
        ("connamespace", Kind::Oid),
        ("conowner", Kind::Oid),
        ("conforencoding", Kind::I32),
        ("contoencoding", Kind::I32),
        ("conproc", Kind::Oid),
        ("condefault", Kind::Bool),
    ],
    rows: |_| Vec::new(),
};

const PG_DEFAULT_ACL: Relation = Relation {
    name: "pg_default_acl",
    columns: &[
        ("oid", Kind::Oid),
        ("defaclrole", Kind::Oid),
        ("defaclnamespace", Kind::Oid),
        ("defaclobjtype", Kind::Char),
        ("defaclacl", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_INIT_PRIVS: Relation = Relation {
    name: "pg_init_privs",
    columns: &[
        ("objoid", Kind::Oid),
        ("classoid", Kind::Oid),
        ("objsubid", Kind::I32),
        ("privtype", Kind::Char),
        ("initprivs", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_SECLABEL: Relation = Relation {
    name: "pg_seclabel",
    columns: &[
        ("objoid", Kind::Oid),
        ("classoid", Kind::Oid),
        ("objsubid", Kind::I32),
        ("provider", Kind::Text),
        ("label", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_SHDEPEND: Relation = Relation {
    name: "pg_shdepend",
    columns: &[
        ("dbid", Kind::Oid),
        ("classid", Kind::Oid),
        ("objid", Kind::Oid),
        ("objsubid", Kind::I32),
        ("refclassid", Kind::Oid),
        ("refobjid", Kind::Oid),
        ("deptype", Kind::Char),
    ],
    rows: |_| Vec::new(),
};

const PG_RANGE: Relation = Relation {
    name: "pg_range",
    columns: &[
        ("rngtypid", Kind::Oid),
        ("rngsubtype", Kind::Oid),
        ("rngmultitypid", Kind::Oid),
        ("rngcollation", Kind::Oid),
        ("rngsubopc", Kind::Oid),
        ("rngcanonical", Kind::Oid),
        ("rngsubdiff", Kind::Oid),
    ],
    rows: |_| Vec::new(),
};

const PG_TS_CONFIG: Relation = Relation {
    name: "pg_ts_config",
    columns: &[
        ("oid", Kind::Oid),
        ("cfgname", Kind::Name),
        ("cfgnamespace", Kind::Oid),
        ("cfgowner", Kind::Oid),
        ("cfgparser", Kind::Oid),
    ],
    rows: |_| Vec::new(),
};

const PG_TS_DICT: Relation = Relation {
    name: "pg_ts_dict",
    columns: &[
        ("oid", Kind::Oid),
        ("dictname", Kind::Name),
        ("dictnamespace", Kind::Oid),
        ("dictowner", Kind::Oid),
        ("dicttemplate", Kind::Oid),
        ("dictinitoption", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_TS_PARSER: Relation = Relation {
    name: "pg_ts_parser",
    columns: &[
        ("oid", Kind::Oid),
        ("prsname", Kind::Name),
        ("prsnamespace", Kind::Oid),
        ("prsstart", Kind::Oid),
        ("prstoken", Kind::Oid),
        ("prsend", Kind::Oid),
        ("prsheadline", Kind::Oid),
        ("prslextype", Kind::Oid),
    ],
    rows: |_| Vec::new(),
};

const PG_TS_TEMPLATE: Relation = Relation {
    name: "pg_ts_template",
    columns: &[
        ("oid", Kind::Oid),
        ("tmplname", Kind::Name),
        ("tmplnamespace", Kind::Oid),
        ("tmplinit", Kind::Oid),
        ("tmpllexize", Kind::Oid),
    ],
    rows: |_| Vec::new(),
};

const PG_TRANSFORM: Relation = Relation {
    name: "pg_transform",
    columns: &[
        ("oid", Kind::Oid),
        ("trftype", Kind::Oid),
        ("trflang", Kind::Oid),
        ("trffromsql", Kind::Oid),
        ("trftosql", Kind::Oid),
    ],
    rows: |_| Vec::new(),
};

const PG_USER_MAPPING: Relation = Relation {
    name: "pg_user_mapping",
    columns: &[
        ("oid", Kind::Oid),
        ("umuser", Kind::Oid),
        ("umserver", Kind::Oid),
        ("umoptions", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_LARGEOBJECT_METADATA: Relation = Relation {
    name: "pg_largeobject_metadata",
    columns: &[
        ("oid", Kind::Oid),
        ("lomowner", Kind::Oid),
        ("lomacl", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_PREPARED_XACTS: Relation = Relation {
    name: "pg_prepared_xacts",
    columns: &[
        ("transaction", Kind::Oid),
        ("gid", Kind::Text),
        ("prepared", Kind::TimestampTz),
        ("owner", Kind::Name),
        ("database", Kind::Name),
    ],
    rows: |_| Vec::new(),
};

const PG_MATVIEWS: Relation = Relation {
    name: "pg_matviews",
    columns: &[
        ("schemaname", Kind::Name),
        ("matviewname", Kind::Name),
        ("matviewowner", Kind::Name),
        ("tablespace", Kind::Name),
        ("hasindexes", Kind::Bool),
        ("ispopulated", Kind::Bool),
        ("definition", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_SEQUENCES: Relation = Relation {
    name: "pg_sequences",
    columns: &[
        ("schemaname", Kind::Name),
        ("sequencename", Kind::Name),
        ("sequenceowner", Kind::Name),
        ("data_type", Kind::Oid),
        ("start_value", Kind::I64),
        ("min_value", Kind::I64),
        ("max_value", Kind::I64),
        ("increment_by", Kind::I64),
        ("cycle", Kind::Bool),
        ("cache_size", Kind::I64),
        ("last_value", Kind::I64),
    ],
    rows: |_| Vec::new(),
};

const PG_STAT_USER_INDEXES: Relation = Relation {
    name: "pg_stat_user_indexes",
    columns: &[
        ("relid", Kind::Oid),
        ("indexrelid", Kind::Oid),
        ("schemaname", Kind::Name),
        ("relname", Kind::Name),
        ("indexrelname", Kind::Name),
        ("idx_scan", Kind::I64),
        ("idx_tup_read", Kind::I64),
        ("idx_tup_fetch", Kind::I64),
    ],
    rows: |_| Vec::new(),
};

const PG_STATIO_USER_TABLES: Relation = Relation {
    name: "pg_statio_user_tables",
    columns: &[
        ("relid", Kind::Oid),
        ("schemaname", Kind::Name),
        ("relname", Kind::Name),
        ("heap_blks_read", Kind::I64),
        ("heap_blks_hit", Kind::I64),
        ("idx_blks_read", Kind::I64),
        ("idx_blks_hit", Kind::I64),
        ("toast_blks_read", Kind::I64),
        ("toast_blks_hit", Kind::I64),
        ("tidx_blks_read", Kind::I64),
        ("tidx_blks_hit", Kind::I64),
    ],
    rows: |_| Vec::new(),
};

const PG_REPLICATION_SLOTS: Relation = Relation {
    name: "pg_replication_slots",
    columns: &[
        ("slot_name", Kind::Name),
        ("plugin", Kind::Name),
        ("slot_type", Kind::Text),
        ("datoid", Kind::Oid),
        ("database", Kind::Name),
        ("temporary", Kind::Bool),
        ("active", Kind::Bool),
        ("active_pid", Kind::I32),
        ("xmin", Kind::Oid),
        ("catalog_xmin", Kind::Oid),
        ("restart_lsn", Kind::Text),
        ("confirmed_flush_lsn", Kind::Text),
        ("wal_status", Kind::Text),
        ("safe_wal_size", Kind::I64),
        ("two_phase", Kind::Bool),
    ],
    rows: |_| Vec::new(),
};

const PG_STAT_REPLICATION: Relation = Relation {
    name: "pg_stat_replication",
    columns: &[
        ("pid", Kind::I32),
        ("usesysid", Kind::Oid),
        ("usename", Kind::Name),
        ("application_name", Kind::Text),
        ("client_addr", Kind::Text),
        ("client_hostname", Kind::Text),
        ("client_port", Kind::I32),
        ("backend_start", Kind::TimestampTz),
        ("backend_xmin", Kind::Oid),
        ("state", Kind::Text),
        ("sent_lsn", Kind::Text),
        ("write_lsn", Kind::Text),
        ("flush_lsn", Kind::Text),
        ("replay_lsn", Kind::Text),
        ("write_lag", Kind::Text),
        ("flush_lag", Kind::Text),
        ("replay_lag", Kind::Text),
        ("sync_priority", Kind::I32),
        ("sync_state", Kind::Text),
        ("reply_time", Kind::TimestampTz),
    ],
    rows: |_| Vec::new(),
};

const PG_TIMEZONE_NAMES: Relation = Relation {
    name: "pg_timezone_names",
    columns: &[
        ("name", Kind::Text),
        ("abbrev", Kind::Text),
        ("utc_offset", Kind::Text),
        ("is_dst", Kind::Bool),
    ],
    rows: |_| Vec::new(),
};

const PG_TIMEZONE_ABBREVS: Relation = Relation {
    name: "pg_timezone_abbrevs",
    columns: &[
        ("abbrev", Kind::Text),
        ("utc_offset", Kind::Text),
        ("is_dst", Kind::Bool),
    ],
    rows: |_| Vec::new(),
};

const PG_AVAILABLE_EXTENSIONS: Relation = Relation {
    name: "pg_available_extensions",
    columns: &[
        ("name", Kind::Name),
        ("default_version", Kind::Text),
        ("installed_version", Kind::Text),
        ("comment", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_SHADOW: Relation = Relation {
    name: "pg_shadow",
    columns: &[
        ("usename", Kind::Name),
        ("usesysid", Kind::Oid),
        ("usecreatedb", Kind::Bool),
        ("usesuper", Kind::Bool),
        ("userepl", Kind::Bool),
        ("usebypassrls", Kind::Bool),
        ("passwd", Kind::Text),
        ("valuntil", Kind::TimestampTz),
        ("useconfig", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_GROUP: Relation = Relation {
    name: "pg_group",
    columns: &[
        ("groname", Kind::Name),
        ("grosysid", Kind::Oid),
        ("grolist", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_RULES: Relation = Relation {
    name: "pg_rules",
    columns: &[
        ("schemaname", Kind::Name),
        ("tablename", Kind::Name),
        ("rulename", Kind::Name),
        ("definition", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_POLICIES: Relation = Relation {
    name: "pg_policies",
    columns: &[
        ("schemaname", Kind::Name),
        ("tablename", Kind::Name),
        ("policyname", Kind::Name),
        ("permissive", Kind::Text),
        ("roles", Kind::TextArray),
        ("cmd", Kind::Text),
        ("qual", Kind::Text),
        ("with_check", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const PG_STATS: Relation = Relation {
    name: "pg_stats",
    columns: &[
        ("schemaname", Kind::Name),
        ("tablename", Kind::Name),
        ("attname", Kind::Name),
        ("inherited", Kind::Bool),
        ("null_frac", Kind::F32),
        ("avg_width", Kind::I32),
        ("n_distinct", Kind::F32),
        ("most_common_vals", Kind::TextArray),
        ("most_common_freqs", Kind::TextArray),
        ("histogram_bounds", Kind::TextArray),
        ("correlation", Kind::F32),
        ("most_common_elems", Kind::TextArray),
        ("most_common_elem_freqs", Kind::TextArray),
        ("elem_count_histogram", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_STAT_DATABASE: Relation = Relation {
    name: "pg_stat_database",
    columns: &[
        ("datid", Kind::Oid),
        ("datname", Kind::Name),
        ("numbackends", Kind::I32),
        ("xact_commit", Kind::I64),
        ("xact_rollback", Kind::I64),
        ("blks_read", Kind::I64),
        ("blks_hit", Kind::I64),
        ("tup_returned", Kind::I64),
        ("tup_fetched", Kind::I64),
        ("tup_inserted", Kind::I64),
        ("tup_updated", Kind::I64),
        ("tup_deleted", Kind::I64),
        ("conflicts", Kind::I64),
        ("temp_files", Kind::I64),
        ("temp_bytes", Kind::I64),
        ("deadlocks", Kind::I64),
        ("checksum_failures", Kind::I64),
        ("checksum_last_failure", Kind::TimestampTz),
        ("blk_read_time", Kind::F64),
        ("blk_write_time", Kind::F64),
        ("session_time", Kind::F64),
        ("active_time", Kind::F64),
        ("idle_in_transaction_time", Kind::F64),
        ("sessions", Kind::I64),
        ("sessions_abandoned", Kind::I64),
        ("sessions_fatal", Kind::I64),
        ("sessions_killed", Kind::I64),
        ("stats_reset", Kind::TimestampTz),
    ],
    rows: |_| Vec::new(),
};

const PG_INHERITS: Relation = Relation {
    name: "pg_inherits",
    columns: &[
        ("inhrelid", Kind::Oid),
        ("inhparent", Kind::Oid),
        ("inhseqno", Kind::I32),
        ("inhdetachpending", Kind::Bool),
    ],
    rows: |_| Vec::new(),
};

const PG_SEQUENCE: Relation = Relation {
    name: "pg_sequence",
    columns: &[
        ("seqrelid", Kind::Oid),
        ("seqtypid", Kind::Oid),
        ("seqstart", Kind::I64),
        ("seqincrement", Kind::I64),
        ("seqmax", Kind::I64),
        ("seqmin", Kind::I64),
        ("seqcache", Kind::I64),
        ("seqcycle", Kind::Bool),
    ],
    rows: |_| Vec::new(),
};
