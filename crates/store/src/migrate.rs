//! Schema migrations, one folder per backend, applied in version order. Each migration and its
//! bookkeeping row commit together; concurrent starters wait for each other.

use crate::{Backend, Db, Result, StoreError};
use sqlx::{AnyConnection, Connection, Executor, Row};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "risk",
        sqlite: include_str!("../migrations/sqlite/0002_risk.sql"),
        postgres: include_str!("../migrations/postgres/0002_risk.sql"),
    },
    Migration {
        version: 3,
        name: "security",
        sqlite: include_str!("../migrations/sqlite/0003_security.sql"),
        postgres: include_str!("../migrations/postgres/0003_security.sql"),
    },
    Migration {
        version: 4,
        name: "cases",
        sqlite: include_str!("../migrations/sqlite/0004_cases.sql"),
        postgres: include_str!("../migrations/postgres/0004_cases.sql"),
    },
    Migration {
        version: 5,
        name: "desk_tools",
        sqlite: include_str!("../migrations/sqlite/0005_desk_tools.sql"),
        postgres: include_str!("../migrations/postgres/0005_desk_tools.sql"),
    },
    Migration {
        version: 6,
        name: "text",
        sqlite: include_str!("../migrations/sqlite/0006_text.sql"),
        postgres: include_str!("../migrations/postgres/0006_text.sql"),
    },
    Migration {
        version: 7,
        name: "oversight",
        sqlite: include_str!("../migrations/sqlite/0007_oversight.sql"),
        postgres: include_str!("../migrations/postgres/0007_oversight.sql"),
    },
    Migration {
        version: 8,
        name: "staff_sso",
        sqlite: include_str!("../migrations/sqlite/0008_staff_sso.sql"),
        postgres: include_str!("../migrations/postgres/0008_staff_sso.sql"),
    },
    Migration {
        version: 9,
        name: "desk_scale",
        sqlite: include_str!("../migrations/sqlite/0009_desk_scale.sql"),
        postgres: include_str!("../migrations/postgres/0009_desk_scale.sql"),
    },
    Migration {
        version: 10,
        name: "event_writes",
        sqlite: include_str!("../migrations/sqlite/0010_event_writes.sql"),
        postgres: include_str!("../migrations/postgres/0010_event_writes.sql"),
    },
    Migration {
        version: 11,
        name: "decisions_in_events",
        sqlite: include_str!("../migrations/sqlite/0011_decisions_in_events.sql"),
        postgres: include_str!("../migrations/postgres/0011_decisions_in_events.sql"),
    },
];

/// Arbitrary constant naming thaw's migration lock among PostgreSQL advisory locks.
const PG_LOCK_KEY: i64 = 0x7468_6177_6d69_6772;

/// Applies the missing migrations up to version `upto`.
pub(crate) async fn run(db: &Db, upto: i64) -> Result<Vec<i64>> {
    // A connection of its own, so no pooled connection is left inside a half-finished transaction.
    let mut conn = db.pool().acquire().await?.detach();
    let applied = apply_all(&mut conn, db.backend(), upto).await;
    let _ = conn.close().await;
    applied
}

async fn apply_all(conn: &mut AnyConnection, backend: Backend, upto: i64) -> Result<Vec<i64>> {
    match backend {
        Backend::Sqlite => {
            conn.execute("BEGIN IMMEDIATE").await?;
        }
        Backend::Postgres => {
            conn.execute("BEGIN").await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PG_LOCK_KEY).execute(&mut *conn).await?;
        }
    }
    let result = apply_locked(conn, backend, upto).await;
    match result {
        Ok(applied) => {
            conn.execute("COMMIT").await?;
            Ok(applied)
        }
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn apply_locked(conn: &mut AnyConnection, backend: Backend, upto: i64) -> Result<Vec<i64>> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let done: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("version"))
        .collect::<Result<_, _>>()?;
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version <= upto && !done.contains(&m.version)) {
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        conn.execute(sqlx::raw_sql(sql))
            .await
            .map_err(|e| StoreError::Migration { version: m.version, cause: e.to_string() })?;
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        applied.push(m.version);
    }
    Ok(applied)
}
