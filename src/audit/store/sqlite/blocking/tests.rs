use super::*;

#[test]
fn the_writer_is_durable_and_never_checkpoints_inside_a_commit() {
    let dir = std::env::temp_dir().join(format!("vi-wr-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("a.sqlite");
    Connection::open(&file).expect("create");
    let conn = open(&file, super::super::PageMemory::SERVER).expect("open");
    let pragma = |name: &str| -> String {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
        .expect("pragma")
    };
    assert_eq!(pragma("wal_autocheckpoint"), "0");
    assert_eq!(pragma("synchronous"), "2", "FULL");
    assert_eq!(pragma("journal_mode"), "wal");
    assert_eq!(pragma("foreign_keys"), "1");
    assert_eq!(pragma("recursive_triggers"), "1");
    assert_eq!(pragma("cache_size"), "-65536");
    assert_eq!(pragma("mmap_size"), "0", "the writer never maps the file");
    assert_eq!(
        pragma("journal_size_limit"),
        super::super::WAL_SIZE_LIMIT.to_string()
    );
    drop(conn);
    // The streaming profile changes page memory only, never durability.
    let conn = open(&file, super::super::PageMemory::STREAMING).expect("open");
    let pragma = |name: &str| -> i64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .expect("pragma")
    };
    assert_eq!(pragma("cache_size"), -8192);
    assert_eq!(pragma("mmap_size"), 0);
    assert_eq!(pragma("synchronous"), 2, "FULL");
    assert_eq!(pragma("wal_autocheckpoint"), 0);
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn multi_row_statements_have_one_placeholder_per_value() {
    assert_eq!(
        values_sql("INSERT INTO t (a, b) ", 2, 2, " RETURNING a"),
        "INSERT INTO t (a, b) VALUES (?,?),(?,?) RETURNING a"
    );
    assert_eq!(
        values_sql("SELECT a FROM t WHERE (a, b) IN (", 1, 2, ")"),
        "SELECT a FROM t WHERE (a, b) IN (VALUES (?,?))"
    );
}
