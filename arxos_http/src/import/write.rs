//! Writing a plan through `arxos.import_batch`, in batches, with bound parameters only.

use serde::Serialize;
use serde_json::{json, Value};
use tokio_postgres::Client;

use super::model::{Plan, Skipped};

/// Objects per `arxos.import_batch` call.
pub const OBJECT_BATCH: usize = 2_000;
/// Connections per call.
pub const CONNECTION_BATCH: usize = 5_000;

/// What an import did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Summary {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// Ancestors the file did not describe, created as directories.
    pub directories: i64,
    pub connections_created: i64,
    pub connections_updated: i64,
    pub connections_unchanged: i64,
    pub skipped: Vec<Skipped>,
}

impl Summary {
    fn add(&mut self, counts: &Value) {
        let n = |k: &str| counts.get(k).and_then(Value::as_i64).unwrap_or(0);
        self.created += n("created");
        self.updated += n("updated");
        self.unchanged += n("unchanged");
        self.directories += n("directories");
        self.connections_created += n("connections_created");
        self.connections_updated += n("connections_updated");
        self.connections_unchanged += n("connections_unchanged");
    }

    /// One line for people, e.g. `12 created, 0 updated, ...`.
    pub fn line(&self) -> String {
        format!(
            "objects: {} created, {} updated, {} unchanged, {} directories added; connections: {} created, {} updated, {} unchanged; {} skipped",
            self.created, self.updated, self.unchanged, self.directories,
            self.connections_created, self.connections_updated, self.connections_unchanged,
            self.skipped.len()
        )
    }
}

/// Total number of items a plan writes (for progress bars).
pub fn total(plan: &Plan) -> u64 {
    (plan.objects.len() + plan.connections.len()) as u64
}

/// Writes the plan: all objects (parents first), then all connections. The caller owns the
/// transaction; `progress` is told how many items each batch wrote.
pub async fn write(
    client: &Client,
    building: &str,
    plan: Plan,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Summary, tokio_postgres::Error> {
    let statement = client
        .prepare("SELECT arxos.import_batch($1::text, $2::jsonb)")
        .await?;
    let mut summary = Summary::default();
    for chunk in plan.objects.chunks(OBJECT_BATCH) {
        let batch = json!({"objects": chunk, "connections": []});
        let row = client.query_one(&statement, &[&building, &batch]).await?;
        summary.add(&row.try_get::<_, Value>(0)?);
        progress(chunk.len() as u64);
    }
    for chunk in plan.connections.chunks(CONNECTION_BATCH) {
        let batch = json!({"objects": [], "connections": chunk});
        let row = client.query_one(&statement, &[&building, &batch]).await?;
        summary.add(&row.try_get::<_, Value>(0)?);
        progress(chunk.len() as u64);
    }
    summary.skipped = plan.skipped;
    Ok(summary)
}
