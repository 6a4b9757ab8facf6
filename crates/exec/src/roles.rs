//! Roles and privileges: `CREATE/ALTER/DROP ROLE` (and `USER`), `GRANT` and
//! `REVOKE` on tables and views, how a login must authenticate, and the
//! check every statement of a non-superuser passes before it runs.
//!
//! The statements here only compute the next catalog; [`crate::ddl`]
//! commits it through the log like any other DDL. Privileges are checked
//! against the session's current catalog when a statement runs (not when
//! it was prepared), as PostgreSQL does: a REVOKE takes effect on the next
//! statement of every session. A view is checked by its own privileges;
//! the tables it reads are not checked again for the caller (PostgreSQL
//! checks them against the view's owner).

use prismdb_catalog::roles::{self, PUBLIC_GRANTEE, privilege};
use prismdb_catalog::{Catalog, Ownership, Role};
use prismdb_common::{Error, Result};
use prismdb_sql::sqlparser::ast::{
    Action, AlterRoleOperation, CreateRole, Expr, FromTable, GrantObjects, Grantee, GranteeName,
    GranteesType, ObjectName, ObjectType, Password, Privileges, RoleOption, Statement, TableFactor,
    TableObject, Value, visit_relations,
};
use prismdb_sql::{StatementKind, normalize};
use std::ops::ControlFlow;

/// How a client logging in as a role must prove who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// No role has a password: the name is enough.
    Trust,
    /// SCRAM-SHA-256 against this verifier; `None` when the role does not
    /// exist or has no password, so the exchange runs and then fails with
    /// 28P01 without telling which.
    Scram(Option<String>),
}

/// How `user` must authenticate under `catalog`.
pub fn login(catalog: &Catalog, user: &str) -> Login {
    if !catalog.passwords_required() {
        return Login::Trust;
    }
    Login::Scram(catalog.role(user).and_then(|r| r.password.clone()))
}

/// Whether `user` may open a session: the role exists and may log in.
pub fn check_login(catalog: &Catalog, user: &str) -> Result<()> {
    match catalog.role(user) {
        None => Err(Error::InvalidAuthorization(format!(
            "role \"{user}\" does not exist"
        ))),
        Some(r) if !r.login => Err(Error::InvalidAuthorization(format!(
            "role \"{user}\" is not permitted to log in"
        ))),
        Some(_) => Ok(()),
    }
}

/// The role a session acts as; a role dropped under a running session has
/// no privileges at all.
pub fn acting_role(catalog: &Catalog, user: &str) -> Role {
    catalog
        .role(user)
        .cloned()
        .unwrap_or_else(|| Role::new(u32::MAX, user))
}

fn denied(message: impl Into<String>) -> Error {
    Error::InsufficientPrivilege(message.into())
}

fn role_name(name: &ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [part] => part
            .as_ident()
            .map(normalize)
            .ok_or_else(|| Error::Syntax(format!("invalid role name \"{name}\""))),
        _ => Err(Error::Syntax(format!("invalid role name \"{name}\""))),
    }
}

fn check_new_name(name: &str) -> Result<()> {
    if name == "public" || name == "none" {
        return Err(Error::InvalidStatement(format!(
            "role name \"{name}\" is reserved"
        )));
    }
    if name.starts_with("pg_") {
        return Err(Error::InvalidStatement(format!(
            "role name \"{name}\" is reserved"
        )));
    }
    Ok(())
}

fn string_option(e: &Expr, what: &str) -> Result<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => Ok(s.clone()),
            Value::Number(n, _) => Ok(n.clone()),
            _ => Err(Error::Syntax(format!("{what} must be a string"))),
        },
        _ => Err(Error::Syntax(format!("{what} must be a constant"))),
    }
}

fn connection_limit(e: &Expr) -> Result<i32> {
    let text = match e {
        Expr::UnaryOp { expr, .. } => format!("-{}", string_option(expr, "CONNECTION LIMIT")?),
        e => string_option(e, "CONNECTION LIMIT")?,
    };
    text.parse::<i32>()
        .ok()
        .filter(|n| *n >= -1)
        .ok_or_else(|| Error::InvalidParameterValue(format!("invalid connection limit: {text}")))
}

fn password(p: &Password) -> Result<Option<String>> {
    match p {
        Password::NullPassword => Ok(None),
        Password::Password(e) => {
            let text = string_option(e, "PASSWORD")?;
            if text.is_empty() {
                // PostgreSQL: an empty password is no password.
                return Ok(None);
            }
            prismdb_common::scram::verifier(&text).map(Some)
        }
    }
}

/// Once any role has a password every login must give one, so a catalog
/// with passwords must keep a superuser that can log in with its own, or
/// nobody could administer the cluster any more. Checked after every role
/// statement.
pub(crate) fn check_passwords(next: &Catalog) -> Result<()> {
    let administrable = next
        .roles
        .values()
        .any(|r| r.superuser && r.login && r.password.is_some());
    if next.passwords_required() && !administrable {
        return Err(Error::ObjectNotInPrerequisiteState(
            "a superuser that can log in must have a password first: once any role has a \
             password, every login must give one"
                .into(),
        ));
    }
    Ok(())
}

/// `CREATE ROLE` / `CREATE USER`.
pub(crate) fn create_role(catalog: &mut Catalog, actor: &Role, cr: &CreateRole) -> Result<()> {
    if !(actor.superuser || actor.create_role) {
        return Err(denied("permission denied to create role"));
    }
    if cr.if_not_exists {
        // Not PostgreSQL's grammar.
        return Err(Error::Syntax("syntax error at or near \"NOT\"".into()));
    }
    if cr.superuser == Some(true) && !actor.superuser {
        return Err(denied("must be superuser to create superusers"));
    }
    if !cr.in_role.is_empty()
        || !cr.in_group.is_empty()
        || !cr.role.is_empty()
        || !cr.user.is_empty()
        || !cr.admin.is_empty()
    {
        return Err(Error::NotSupported(
            "role membership is not supported".into(),
        ));
    }
    for name in &cr.names {
        let name = role_name(name)?;
        check_new_name(&name)?;
        if catalog.roles.contains_key(&name) {
            return Err(Error::DuplicateObject(format!(
                "role \"{name}\" already exists"
            )));
        }
        let mut role = Role::new(catalog.next_role_oid, name.clone());
        catalog.next_role_oid += 1;
        role.superuser = cr.superuser.unwrap_or(false);
        role.login = cr.login.unwrap_or(false);
        role.inherit = cr.inherit.unwrap_or(true);
        role.create_db = cr.create_db.unwrap_or(false);
        role.create_role = cr.create_role.unwrap_or(false);
        role.replication = cr.replication.unwrap_or(false);
        role.bypass_rls = cr.bypassrls.unwrap_or(false);
        if let Some(e) = &cr.connection_limit {
            role.connection_limit = connection_limit(e)?;
        }
        if let Some(p) = &cr.password {
            role.password = password(p)?;
        }
        if let Some(e) = &cr.valid_until {
            role.valid_until = Some(string_option(e, "VALID UNTIL")?);
        }
        catalog.roles.insert(name, role);
    }
    Ok(())
}

/// `ALTER ROLE name WITH options` / `RENAME TO` (settings: [`alter_role_settings`]).
pub(crate) fn alter_role(
    catalog: &mut Catalog,
    actor: &Role,
    name: &str,
    operation: &AlterRoleOperation,
) -> Result<()> {
    let Some(target) = catalog.role(name).cloned() else {
        return Err(Error::UndefinedObject(format!(
            "role \"{name}\" does not exist"
        )));
    };
    match operation {
        AlterRoleOperation::Set { .. } | AlterRoleOperation::Reset { .. } => {
            if !(actor.superuser
                || actor.oid == target.oid
                || actor.create_role && !target.superuser)
            {
                return Err(denied("permission denied to set parameter"));
            }
            alter_role_settings(catalog, name, operation)
        }
        AlterRoleOperation::RenameRole { role_name } => {
            let new = normalize(role_name);
            if actor.oid == target.oid {
                return Err(Error::NotSupported("session user cannot be renamed".into()));
            }
            if !(actor.superuser || actor.create_role && !target.superuser) {
                return Err(denied("permission denied to rename role"));
            }
            check_new_name(&new)?;
            if catalog.roles.contains_key(&new) {
                return Err(Error::DuplicateObject(format!(
                    "role \"{new}\" already exists"
                )));
            }
            let mut role = catalog.roles.remove(name).unwrap_or(target);
            role.name = new.clone();
            // A verifier does not depend on the name (PostgreSQL clears only
            // MD5 hashes, which are salted with it).
            catalog.roles.insert(new.clone(), role);
            if let Some(settings) = catalog.role_settings.remove(name) {
                catalog.role_settings.insert(new, settings);
            }
            Ok(())
        }
        AlterRoleOperation::WithOptions { options } => {
            let only_password = options.iter().all(|o| matches!(o, RoleOption::Password(_)));
            let may = actor.superuser
                || (actor.create_role && !target.superuser)
                || (actor.oid == target.oid && only_password);
            if !may {
                return Err(denied(format!(
                    "permission denied to alter role \"{name}\""
                )));
            }
            let mut role = target;
            for option in options {
                match option {
                    RoleOption::SuperUser(b) => {
                        if !actor.superuser {
                            return Err(denied("must be superuser to alter superuser roles"));
                        }
                        if !b && role.oid == roles::BOOTSTRAP_ROLE_OID {
                            return Err(denied(
                                "permission denied: bootstrap user must be superuser",
                            ));
                        }
                        role.superuser = *b;
                    }
                    RoleOption::Login(b) => role.login = *b,
                    RoleOption::Inherit(b) => role.inherit = *b,
                    RoleOption::CreateDB(b) => role.create_db = *b,
                    RoleOption::CreateRole(b) => role.create_role = *b,
                    RoleOption::Replication(b) => role.replication = *b,
                    RoleOption::BypassRLS(b) => role.bypass_rls = *b,
                    RoleOption::ConnectionLimit(e) => role.connection_limit = connection_limit(e)?,
                    RoleOption::Password(p) => role.password = password(p)?,
                    RoleOption::ValidUntil(e) => {
                        role.valid_until = Some(string_option(e, "VALID UNTIL")?)
                    }
                }
            }
            catalog.roles.insert(name.to_string(), role);
            Ok(())
        }
        _ => Err(Error::NotSupported(
            "this form of ALTER ROLE is not supported".into(),
        )),
    }
}

/// `DROP ROLE` / `DROP USER`.
pub(crate) fn drop_roles(
    catalog: &mut Catalog,
    actor: &Role,
    names: &[ObjectName],
    if_exists: bool,
) -> Result<()> {
    for name in names {
        let name = role_name(name)?;
        let Some(role) = catalog.role(&name).cloned() else {
            if if_exists {
                continue;
            }
            return Err(Error::UndefinedObject(format!(
                "role \"{name}\" does not exist"
            )));
        };
        if !(actor.superuser || actor.create_role) {
            return Err(denied("permission denied to drop role"));
        }
        if role.superuser && !actor.superuser {
            return Err(denied("must be superuser to drop superusers"));
        }
        if role.oid == actor.oid {
            return Err(Error::ObjectInUse("current user cannot be dropped".into()));
        }
        if role.oid == roles::BOOTSTRAP_ROLE_OID {
            return Err(Error::ObjectInUse(format!(
                "cannot drop role {name} because it is required by the database system"
            )));
        }
        let mut owns = Vec::new();
        for db in catalog.databases.values() {
            if db.create_grantees.contains(&role.oid) {
                owns.push("privileges for schema public".to_string());
            }
            for t in db.tables.values() {
                if t.ownership.owner == role.oid {
                    owns.push(format!("owner of table {}", t.name));
                } else if t.ownership.mentions(role.oid) {
                    owns.push(format!("privileges for table {}", t.name));
                }
            }
            for v in db.views.values() {
                if v.ownership.owner == role.oid {
                    owns.push(format!("owner of view {}", v.name));
                } else if v.ownership.mentions(role.oid) {
                    owns.push(format!("privileges for view {}", v.name));
                }
            }
        }
        if !owns.is_empty() {
            return Err(Error::DependentObjectsStillExist(format!(
                "role \"{name}\" cannot be dropped because some objects depend on it ({})",
                owns.join(", ")
            )));
        }
        catalog.roles.remove(&name);
        catalog.role_settings.remove(&name);
    }
    Ok(())
}

/// The privileges of a GRANT or REVOKE on tables.
fn privilege_bits(p: &Privileges) -> Result<u8> {
    let actions = match p {
        Privileges::All { .. } => return Ok(privilege::ALL),
        Privileges::Actions(actions) => actions,
    };
    let mut bits = 0;
    for action in actions {
        bits |= match action {
            Action::Select { columns: None } => privilege::SELECT,
            Action::Insert { columns: None } => privilege::INSERT,
            Action::Update { columns: None } => privilege::UPDATE,
            Action::Delete => privilege::DELETE,
            Action::Truncate => privilege::TRUNCATE,
            Action::References { columns: None } => privilege::REFERENCES,
            Action::Trigger => privilege::TRIGGER,
            Action::Select { .. }
            | Action::Insert { .. }
            | Action::Update { .. }
            | Action::References { .. } => {
                return Err(Error::NotSupported(
                    "column privileges are not supported".into(),
                ));
            }
            other => {
                return Err(Error::InvalidStatement(format!(
                    "invalid privilege type {other} for relation"
                )));
            }
        };
    }
    Ok(bits)
}

/// The role OIDs a GRANT or REVOKE names (PUBLIC as [`PUBLIC_GRANTEE`]).
fn grantee_oids(catalog: &Catalog, grantees: &[Grantee]) -> Result<Vec<u32>> {
    grantees
        .iter()
        .map(|g| {
            if matches!(g.grantee_type, GranteesType::Public) {
                return Ok(PUBLIC_GRANTEE);
            }
            let name = match &g.name {
                Some(GranteeName::ObjectName(n)) => {
                    if n.0.len() == 1
                        && n.0[0].as_ident().is_some_and(|i| {
                            i.quote_style.is_none() && i.value.eq_ignore_ascii_case("public")
                        })
                    {
                        return Ok(PUBLIC_GRANTEE);
                    }
                    role_name(n)?
                }
                _ => return Err(Error::Syntax("invalid grantee".into())),
            };
            catalog
                .role(&name)
                .map(|r| r.oid)
                .ok_or_else(|| Error::UndefinedObject(format!("role \"{name}\" does not exist")))
        })
        .collect()
}

/// Checks that a GRANT names no schema but `public` (42704).
fn only_public(schemas: &[ObjectName]) -> Result<()> {
    for s in schemas {
        if prismdb_sql::object_name(s)? != prismdb_catalog::DEFAULT_SCHEMA {
            return Err(Error::UndefinedObject(format!(
                "schema \"{s}\" does not exist"
            )));
        }
    }
    Ok(())
}

/// `GRANT` (`grant`) or `REVOKE` of table privileges; GRANTs on the schema
/// or database every role can already use are accepted and change nothing.
pub(crate) fn grant_or_revoke(
    catalog: &mut Catalog,
    database: &str,
    actor: &Role,
    privileges: &Privileges,
    objects: Option<&GrantObjects>,
    grantees: &[Grantee],
    grant: bool,
) -> Result<()> {
    let verb = if grant { "GRANT" } else { "REVOKE" };
    let names: Vec<String> = match objects {
        Some(GrantObjects::Tables(names)) | Some(GrantObjects::Views(names)) => names
            .iter()
            .map(prismdb_sql::object_name)
            .collect::<Result<_>>()?,
        Some(GrantObjects::AllTablesInSchema { schemas }) => {
            only_public(schemas)?;
            let db = catalog.database(database)?;
            db.tables.keys().chain(db.views.keys()).cloned().collect()
        }
        Some(GrantObjects::Schemas(schemas)) => {
            only_public(schemas)?;
            // USAGE on public belongs to PUBLIC; CREATE is the owner's
            // until granted (PostgreSQL 15).
            let create = match privileges {
                Privileges::All { .. } => true,
                Privileges::Actions(actions) => {
                    let mut create = false;
                    for a in actions {
                        match a {
                            Action::Create { obj_type: None } => create = true,
                            Action::Usage => {}
                            other => {
                                return Err(Error::InvalidStatement(format!(
                                    "invalid privilege type {other} for schema"
                                )));
                            }
                        }
                    }
                    create
                }
            };
            let oids = grantee_oids(catalog, grantees)?;
            if !actor.superuser {
                return Err(denied("permission denied for schema public"));
            }
            if create {
                let db = catalog.database_mut(database)?;
                for oid in oids {
                    db.create_grantees.retain(|&g| g != oid);
                    if grant {
                        db.create_grantees.push(oid);
                    }
                }
            }
            return Ok(());
        }
        Some(GrantObjects::Databases(_)) if grant => {
            // CONNECT and TEMPORARY on databases belong to PUBLIC.
            grantee_oids(catalog, grantees)?;
            return Ok(());
        }
        _ => {
            return Err(Error::NotSupported(format!(
                "{verb} is supported on tables and views only"
            )));
        }
    };
    let bits = privilege_bits(privileges)?;
    let oids = grantee_oids(catalog, grantees)?;
    let db = catalog.database_mut(database)?;
    for name in names {
        let ownership: &mut Ownership = if let Some(t) = db.tables.get_mut(&name) {
            &mut std::sync::Arc::make_mut(t).ownership
        } else if let Some(v) = db.views.get_mut(&name) {
            &mut std::sync::Arc::make_mut(v).ownership
        } else {
            return Err(Error::UndefinedTable(format!(
                "relation \"{name}\" does not exist"
            )));
        };
        if !actor.superuser && ownership.owner != actor.oid {
            return Err(denied(format!("permission denied for table {name}")));
        }
        for &oid in &oids {
            if grant {
                ownership.grant(oid, bits);
            } else {
                ownership.revoke(oid, bits);
            }
        }
    }
    Ok(())
}

/// `ALTER ROLE r SET p = v | TO DEFAULT`, `ALTER ROLE r RESET p | ALL`:
/// the settings `r`'s new sessions start with (PostgreSQL's
/// `pg_db_role_setting`, without the per-database form). Values are
/// checked as `SET` checks them.
fn alter_role_settings(
    catalog: &mut Catalog,
    role: &str,
    operation: &AlterRoleOperation,
) -> Result<()> {
    use prismdb_sql::sqlparser::ast::{ResetConfig, SetConfigValue};
    let parameter =
        |name: &prismdb_sql::sqlparser::ast::ObjectName| name.to_string().to_lowercase();
    match operation {
        AlterRoleOperation::Set {
            config_name,
            config_value,
            in_database: None,
        } => {
            let name = parameter(config_name);
            match config_value {
                SetConfigValue::Value(e) => {
                    let value = crate::settings::setting_value(e);
                    let mut probe = crate::settings::Settings::default();
                    probe.set(&name, &value)?;
                    let value = probe.get(&name)?;
                    catalog
                        .role_settings
                        .entry(role.to_string())
                        .or_default()
                        .insert(name, value);
                }
                SetConfigValue::Default => {
                    if let Some(settings) = catalog.role_settings.get_mut(role) {
                        settings.remove(&name);
                    }
                }
                SetConfigValue::FromCurrent => {
                    return Err(Error::NotSupported(
                        "ALTER ROLE ... SET ... FROM CURRENT is not supported".into(),
                    ));
                }
            }
        }
        AlterRoleOperation::Reset {
            config_name,
            in_database: None,
        } => match config_name {
            ResetConfig::ALL => {
                catalog.role_settings.remove(role);
            }
            ResetConfig::ConfigName(name) => {
                if let Some(settings) = catalog.role_settings.get_mut(role) {
                    settings.remove(&parameter(name));
                }
            }
        },
        _ => {
            return Err(Error::NotSupported(
                "ALTER ROLE ... IN DATABASE is not supported".into(),
            ));
        }
    }
    if catalog
        .role_settings
        .get(role)
        .is_some_and(|s| s.is_empty())
    {
        catalog.role_settings.remove(role);
    }
    Ok(())
}

/// Checks that a non-superuser `role` may run `stmt` against `database`:
/// the privileges each table or view it reads or writes requires, and
/// ownership for DDL on existing relations.
pub(crate) fn check_statement(
    catalog: &Catalog,
    database: &str,
    role: &Role,
    kind: StatementKind,
    stmt: &Statement,
) -> Result<()> {
    if role.superuser {
        return Ok(());
    }
    let checker = Checker {
        catalog,
        database,
        role,
    };
    match stmt {
        Statement::Insert(ins) => {
            if let TableObject::TableName(name) = &ins.table {
                let mut bits = privilege::INSERT;
                // ON CONFLICT DO UPDATE updates (DO NOTHING only inserts).
                if matches!(
                    &ins.on,
                    Some(prismdb_sql::sqlparser::ast::OnInsert::OnConflict(c))
                        if matches!(c.action, prismdb_sql::sqlparser::ast::OnConflictAction::DoUpdate(_))
                ) {
                    bits |= privilege::UPDATE;
                }
                if ins.returning.is_some() {
                    bits |= privilege::SELECT;
                }
                checker.require(name, bits)?;
            }
            if let Some(source) = &ins.source {
                checker.reads(source.as_ref())?;
            }
            Ok(())
        }
        Statement::Update(upd) => {
            if let TableFactor::Table { name, .. } = &upd.table.relation {
                let mut bits = privilege::UPDATE;
                if upd.selection.is_some() || upd.returning.is_some() {
                    bits |= privilege::SELECT;
                }
                checker.require(name, bits)?;
            }
            for j in &upd.table.joins {
                checker.reads(&j.relation)?;
            }
            if let Some(from) = &upd.from {
                checker.reads(from)?;
            }
            if let Some(selection) = &upd.selection {
                checker.reads(selection)?;
            }
            for a in &upd.assignments {
                checker.reads(&a.value)?;
            }
            Ok(())
        }
        Statement::Delete(del) => {
            let tables = match &del.from {
                FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
            };
            for t in tables {
                if let TableFactor::Table { name, .. } = &t.relation {
                    let mut bits = privilege::DELETE;
                    if del.selection.is_some() || del.returning.is_some() {
                        bits |= privilege::SELECT;
                    }
                    checker.require(name, bits)?;
                }
            }
            if let Some(using) = &del.using {
                checker.reads(using)?;
            }
            if let Some(selection) = &del.selection {
                checker.reads(selection)?;
            }
            Ok(())
        }
        Statement::Truncate(t) => {
            for target in &t.table_names {
                checker.require(&target.name, privilege::TRUNCATE)?;
            }
            Ok(())
        }
        Statement::Copy {
            source: prismdb_sql::sqlparser::ast::CopySource::Table { table_name, .. },
            to,
            ..
        } => checker.require(
            table_name,
            if *to {
                privilege::SELECT
            } else {
                privilege::INSERT
            },
        ),
        Statement::CreateDatabase { .. } => {
            if role.create_db {
                Ok(())
            } else {
                Err(denied("permission denied to create database"))
            }
        }
        Statement::CreateTable(_) | Statement::CreateView(_) | Statement::CreateSequence { .. } => {
            let db = catalog.database(database)?;
            if db.create_grantees.contains(&role.oid)
                || db.create_grantees.contains(&PUBLIC_GRANTEE)
            {
                if let Statement::CreateView(cv) = stmt {
                    checker.reads(cv.query.as_ref())?;
                }
                Ok(())
            } else {
                Err(denied("permission denied for schema public"))
            }
        }
        Statement::Drop {
            object_type: ObjectType::Table | ObjectType::View,
            names,
            ..
        } => {
            for n in names {
                checker.owns(n)?;
            }
            Ok(())
        }
        Statement::Drop {
            object_type: ObjectType::Database,
            names,
            ..
        } => match names.first() {
            Some(n) => Err(denied(format!("must be owner of database {n}"))),
            None => Ok(()),
        },
        Statement::AlterTable(at) => checker.owns(&at.name),
        // Role statements check their own rules; a prepared statement is
        // checked when EXECUTE runs it; transaction control, settings and
        // session statements touch no relation.
        Statement::Prepare { .. }
        | Statement::CreateIndex(_)
        | Statement::AlterIndex { .. }
        | Statement::CreateRole(_)
        | Statement::AlterRole { .. }
        | Statement::Grant(_)
        | Statement::Revoke(_)
        | Statement::Drop { .. } => Ok(()),
        _ if matches!(
            kind,
            StatementKind::Transaction | StatementKind::Setting | StatementKind::SessionControl
        ) =>
        {
            Ok(())
        }
        // Queries, EXPLAIN, COPY (query), DECLARE, PREPARE, ANALYZE: every
        // relation named is read.
        other => checker.reads(other),
    }
}

struct Checker<'a> {
    catalog: &'a Catalog,
    database: &'a str,
    role: &'a Role,
}

impl Checker<'_> {
    /// The ownership record of a relation of the database, if `name` names
    /// one (system catalogs and unknown names have none: the planner
    /// reports the latter).
    fn relation(&self, name: &ObjectName) -> Option<(String, &Ownership, &'static str)> {
        let n = prismdb_sql::object_name(name).ok()?;
        let db = self.catalog.database(self.database).ok()?;
        if let Some(t) = db.tables.get(&n) {
            return Some((n, &t.ownership, "table"));
        }
        db.views.get(&n).map(|v| (n, &v.ownership, "view"))
    }

    fn require(&self, name: &ObjectName, bits: u8) -> Result<()> {
        if let Some((n, ownership, kind)) = self.relation(name)
            && ownership.privileges_of(self.role) & bits != bits
        {
            return Err(denied(format!("permission denied for {kind} {n}")));
        }
        Ok(())
    }

    fn owns(&self, name: &ObjectName) -> Result<()> {
        if let Some((n, ownership, kind)) = self.relation(name)
            && ownership.owner != self.role.oid
        {
            return Err(denied(format!("must be owner of {kind} {n}")));
        }
        Ok(())
    }

    /// SELECT on every relation `node` names.
    fn reads<V: prismdb_sql::sqlparser::ast::Visit>(&self, node: &V) -> Result<()> {
        let flow = visit_relations(node, |name| match self.require(name, privilege::SELECT) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        });
        match flow {
            ControlFlow::Break(e) => Err(e),
            ControlFlow::Continue(()) => Ok(()),
        }
    }
}

impl crate::Engine {
    /// Gives the superuser of a new cluster its configured name and
    /// password, committed through the log like any role statement. Does
    /// nothing (`Ok(false)`) once the roles are no longer the ones every
    /// cluster starts with: another member did it, or roles were changed.
    pub async fn bootstrap_superuser(&self, name: &str, password: Option<&str>) -> Result<bool> {
        let _guard = self.ddl_lock.lock().await;
        let base = self.catalog();
        if base.roles != roles::default_roles() {
            return Ok(false);
        }
        let mut role = Role::bootstrap(name);
        role.password = password.map(prismdb_common::scram::verifier).transpose()?;
        if base.roles.get(name) == Some(&role) {
            return Ok(false);
        }
        let mut next = base.as_ref().clone();
        next.roles = std::iter::once((name.to_string(), role)).collect();
        let ws = prismdb_rowstore::WriteSet {
            read_version: self.store.last_version(),
            catalog: Some(next.encode()),
            ..Default::default()
        };
        self.log.commit(ws).await?;
        Ok(true)
    }
}
