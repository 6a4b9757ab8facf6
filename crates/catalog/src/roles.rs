//! Roles, their passwords, and privileges on tables and views.
//!
//! Roles live in the catalog, so `CREATE ROLE`, `ALTER ROLE`, `GRANT` and
//! the rest are committed through the log like any DDL and every member
//! sees the same roles at the same version. A password is never stored:
//! the catalog keeps its SCRAM-SHA-256 verifier (see
//! [`prismdb_common::scram`]).
//!
//! Privileges follow PostgreSQL's ACLs: each relation has an owner (a role
//! OID) and a list of [`AclItem`]s; the owner and superusers hold every
//! privilege, other roles what was granted to them or to PUBLIC.

use serde::{Deserialize, Serialize};

/// The bootstrap superuser's OID (PostgreSQL's `BOOTSTRAP_SUPERUSERID`).
pub const BOOTSTRAP_ROLE_OID: u32 = 10;
/// Its name in a cluster created without another.
pub const BOOTSTRAP_ROLE_NAME: &str = "prism";
/// The first OID of roles created by `CREATE ROLE`, in a range of their own
/// (tables, views and databases take theirs elsewhere).
pub const FIRST_ROLE_OID: u32 = 0x3000_0000;
/// The grantee OID that stands for PUBLIC (every role), as in PostgreSQL.
pub const PUBLIC_GRANTEE: u32 = 0;

/// One role: a user when it can log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub oid: u32,
    pub name: String,
    pub superuser: bool,
    pub login: bool,
    pub inherit: bool,
    pub create_role: bool,
    pub create_db: bool,
    pub replication: bool,
    pub bypass_rls: bool,
    /// `CONNECTION LIMIT` (-1: none).
    pub connection_limit: i32,
    /// The SCRAM-SHA-256 verifier of the password, if one is set.
    pub password: Option<String>,
    /// `VALID UNTIL`, as given.
    pub valid_until: Option<String>,
}

impl Role {
    /// A role with PostgreSQL's defaults for `CREATE ROLE`.
    pub fn new(oid: u32, name: impl Into<String>) -> Role {
        Role {
            oid,
            name: name.into(),
            superuser: false,
            login: false,
            inherit: true,
            create_role: false,
            create_db: false,
            replication: false,
            bypass_rls: false,
            connection_limit: -1,
            password: None,
            valid_until: None,
        }
    }

    /// The superuser every cluster starts with.
    pub fn bootstrap(name: impl Into<String>) -> Role {
        Role {
            superuser: true,
            login: true,
            create_role: true,
            create_db: true,
            replication: true,
            bypass_rls: true,
            ..Role::new(BOOTSTRAP_ROLE_OID, name)
        }
    }
}

/// The roles of a catalog that has none recorded: the bootstrap superuser.
pub fn default_roles() -> std::collections::BTreeMap<String, Role> {
    let role = Role::bootstrap(BOOTSTRAP_ROLE_NAME);
    std::iter::once((role.name.clone(), role)).collect()
}

/// Table privileges, as bits. Their letters are PostgreSQL's ACL letters.
pub mod privilege {
    pub const INSERT: u8 = 1 << 0;
    pub const SELECT: u8 = 1 << 1;
    pub const UPDATE: u8 = 1 << 2;
    pub const DELETE: u8 = 1 << 3;
    pub const TRUNCATE: u8 = 1 << 4;
    pub const REFERENCES: u8 = 1 << 5;
    pub const TRIGGER: u8 = 1 << 6;
    /// Every table privilege (`ALL`).
    pub const ALL: u8 = 0x7f;
    /// The ACL letter of each bit, in PostgreSQL's order.
    pub const LETTERS: [(u8, char); 7] = [
        (INSERT, 'a'),
        (SELECT, 'r'),
        (UPDATE, 'w'),
        (DELETE, 'd'),
        (TRUNCATE, 'D'),
        (REFERENCES, 'x'),
        (TRIGGER, 't'),
    ];

    /// The SQL name of a single privilege bit.
    pub fn name(bit: u8) -> &'static str {
        match bit {
            INSERT => "INSERT",
            SELECT => "SELECT",
            UPDATE => "UPDATE",
            DELETE => "DELETE",
            TRUNCATE => "TRUNCATE",
            REFERENCES => "REFERENCES",
            TRIGGER => "TRIGGER",
            _ => "ALL",
        }
    }
}

/// One entry of a relation's access list: what `grantee` (a role OID, or
/// [`PUBLIC_GRANTEE`]) may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclItem {
    pub grantee: u32,
    pub privileges: u8,
}

/// Who owns a relation and who else may use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// The owner's role OID.
    #[serde(default = "bootstrap_owner")]
    pub owner: u32,
    /// Grants to other roles; empty until the first GRANT or REVOKE.
    #[serde(default)]
    pub acl: Vec<AclItem>,
    /// Whether a GRANT or REVOKE ever set the list (PostgreSQL's
    /// `relacl` is NULL, meaning the owner's defaults, until then).
    #[serde(default)]
    pub acl_set: bool,
    /// What the owner holds once `acl_set` (an owner may revoke its own
    /// privileges; superusers keep all of them regardless).
    #[serde(default = "all_privileges")]
    pub owner_privileges: u8,
}

fn bootstrap_owner() -> u32 {
    BOOTSTRAP_ROLE_OID
}

fn all_privileges() -> u8 {
    privilege::ALL
}

impl Default for Ownership {
    fn default() -> Self {
        Ownership::owned_by(BOOTSTRAP_ROLE_OID)
    }
}

impl Ownership {
    pub fn owned_by(owner: u32) -> Ownership {
        Ownership {
            owner,
            acl: Vec::new(),
            acl_set: false,
            owner_privileges: privilege::ALL,
        }
    }

    /// The privileges `role` holds on the relation.
    pub fn privileges_of(&self, role: &Role) -> u8 {
        if role.superuser {
            return privilege::ALL;
        }
        let mut held = 0;
        if role.oid == self.owner {
            held |= self.owner_privileges;
        }
        for item in &self.acl {
            if item.grantee == role.oid || item.grantee == PUBLIC_GRANTEE {
                held |= item.privileges;
            }
        }
        held
    }

    /// Adds `privileges` for `grantee`.
    pub fn grant(&mut self, grantee: u32, privileges: u8) {
        self.acl_set = true;
        if grantee == self.owner {
            self.owner_privileges |= privileges;
            return;
        }
        match self.acl.iter_mut().find(|i| i.grantee == grantee) {
            Some(item) => item.privileges |= privileges,
            None => self.acl.push(AclItem {
                grantee,
                privileges,
            }),
        }
    }

    /// Takes `privileges` away from `grantee`.
    pub fn revoke(&mut self, grantee: u32, privileges: u8) {
        self.acl_set = true;
        if grantee == self.owner {
            self.owner_privileges &= !privileges;
        }
        for item in &mut self.acl {
            if item.grantee == grantee {
                item.privileges &= !privileges;
            }
        }
        self.acl.retain(|i| i.privileges != 0);
    }

    /// Whether `role` appears in the access list.
    pub fn mentions(&self, role: u32) -> bool {
        self.acl.iter().any(|i| i.grantee == role)
    }

    /// PostgreSQL's `relacl`: `None` until a GRANT or REVOKE, then one
    /// `grantee=letters/grantor` item per entry, the owner's first.
    pub fn acl_items(&self, role_name: impl Fn(u32) -> String) -> Option<Vec<String>> {
        if !self.acl_set {
            return None;
        }
        let owner = role_name(self.owner);
        let letters = |bits: u8| -> String {
            privilege::LETTERS
                .iter()
                .filter(|(b, _)| bits & b != 0)
                .map(|(_, c)| *c)
                .collect()
        };
        let mut items = Vec::new();
        if self.owner_privileges != 0 {
            items.push(format!(
                "{owner}={}/{owner}",
                letters(self.owner_privileges)
            ));
        }
        for item in &self.acl {
            let grantee = if item.grantee == PUBLIC_GRANTEE {
                String::new()
            } else {
                role_name(item.grantee)
            };
            items.push(format!("{grantee}={}/{owner}", letters(item.privileges)));
        }
        Some(items)
    }
}
