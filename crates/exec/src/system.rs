//! System tables: the `prism_cluster` schema.
//!
//! `prism_cluster.members` lists every member of the Raft group as this
//! node sees it at query time: role, voter or learner, the leader it knows,
//! term, applied and last log index, and how far its log was snapshotted
//! and compacted. Other members are asked over the
//! cluster's RPC with a short bound; a silent one shows as `unreachable`.

use crate::{ClusterMember, Log};
use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{SchemaProvider, Session as DfSession};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use std::fmt;
use std::sync::Arc;

pub const CLUSTER_SCHEMA: &str = "prism_cluster";

/// `prism_cluster`.
pub struct ClusterSchema {
    members: Arc<MembersTable>,
}

impl ClusterSchema {
    pub fn new(log: Arc<dyn Log>) -> ClusterSchema {
        ClusterSchema {
            members: Arc::new(MembersTable { log }),
        }
    }
}

impl fmt::Debug for ClusterSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterSchema")
    }
}

#[async_trait]
impl SchemaProvider for ClusterSchema {
    fn table_names(&self) -> Vec<String> {
        vec!["members".into()]
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok((name == "members").then(|| self.members.clone() as Arc<dyn TableProvider>))
    }

    fn table_exist(&self, name: &str) -> bool {
        name == "members"
    }
}

/// `prism_cluster.members`.
struct MembersTable {
    log: Arc<dyn Log>,
}

impl fmt::Debug for MembersTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MembersTable")
    }
}

fn members_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("node_id", DataType::Int64, false),
        Field::new("peer_addr", DataType::Utf8, false),
        Field::new("sql_addr", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("voter", DataType::Boolean, false),
        Field::new("is_leader", DataType::Boolean, false),
        Field::new("leader", DataType::Utf8, true),
        Field::new("term", DataType::Int64, false),
        Field::new("applied_index", DataType::Int64, true),
        Field::new("last_log_index", DataType::Int64, true),
        Field::new("snapshot_index", DataType::Int64, true),
        Field::new("purged_index", DataType::Int64, true),
        Field::new("this_node", DataType::Boolean, false),
    ]))
}

fn to_batch(members: &[ClusterMember]) -> DfResult<RecordBatch> {
    let text = |f: &dyn Fn(&ClusterMember) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(members.iter().map(f)))
    };
    let int = |f: &dyn Fn(&ClusterMember) -> Option<u64>| -> ArrayRef {
        Arc::new(Int64Array::from_iter(
            members.iter().map(|m| f(m).map(|v| v as i64)),
        ))
    };
    let boolean = |f: &dyn Fn(&ClusterMember) -> bool| -> ArrayRef {
        Arc::new(BooleanArray::from_iter(members.iter().map(|m| Some(f(m)))))
    };
    let columns: Vec<ArrayRef> = vec![
        text(&|m| m.name.clone()),
        int(&|m| Some(m.node_id & (i64::MAX as u64))),
        text(&|m| m.peer_addr.clone()),
        text(&|m| m.sql_addr.clone()),
        text(&|m| m.role.clone()),
        boolean(&|m| m.voter),
        boolean(&|m| m.is_leader),
        Arc::new(StringArray::from_iter(
            members.iter().map(|m| m.leader.clone()),
        )),
        int(&|m| Some(m.term)),
        int(&|m| m.applied_index),
        int(&|m| m.last_log_index),
        int(&|m| m.snapshot_index),
        int(&|m| m.purged_index),
        boolean(&|m| m.this_node),
    ];
    Ok(RecordBatch::try_new(members_schema(), columns)?)
}

#[async_trait]
impl TableProvider for MembersTable {
    fn schema(&self) -> SchemaRef {
        members_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let members = self.log.members().await;
        let batch = to_batch(&members)?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            members_schema(),
            projection.cloned(),
        )?)
    }
}
