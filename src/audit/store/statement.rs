//! A statement whose text and binds are built together, for any database.
//!
//! Why not sqlx's `QueryBuilder`: a builder cannot be executed by code generic over the
//! database. `build_query_as` borrows the builder for a lifetime its arguments' lifetime must
//! then equal, and a generic `DB::Arguments<'a>` cannot be shortened to it (only concrete,
//! covariant argument types can). Handing the text and the arguments over separately
//! ([`Statement::query_as`]) lets both live exactly as long as the call, so the reads built
//! this way are written once, in `read.rs`, for both backends.

use sqlx::{Arguments, Database, Encode, Type};

/// SQL text and its arguments; each bind gets the database's own placeholder (`?` for SQLite,
/// `$n` for PostgreSQL) as it is pushed, exactly as `QueryBuilder::push_bind` does.
pub(crate) struct Statement<'a, DB: Database> {
    text: String,
    args: DB::Arguments<'a>,
}

impl<'a, DB: Database> Statement<'a, DB>
where
    &'a str: Encode<'a, DB> + Type<DB>,
{
    /// A statement that starts with `head`.
    pub(crate) fn new(head: &str) -> Self {
        Statement {
            text: head.to_owned(),
            args: DB::Arguments::default(),
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(crate) fn bind(&mut self, value: &'a str) -> &mut Self {
        // Neither driver can fail to encode a string: their `add` only reports a value whose
        // encoder fails, and `str`'s does not.
        self.args
            .add(value)
            .expect("a string always encodes: sqlx's text encoders are infallible");
        self.args
            .format_placeholder(&mut self.text)
            .expect("writing to a String cannot fail");
        self
    }

    /// Appends `VALUES (a, b), (c, d), …`: one parenthesised row of binds per item of `rows`
    /// (as `QueryBuilder::push_values` does).
    pub(crate) fn values<T>(&mut self, rows: &[T], mut row: impl FnMut(&T) -> [&'a str; 2]) {
        self.push("VALUES ");
        for (i, item) in rows.iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            let [a, b] = row(item);
            self.bind(a).push(", ").bind(b).push(")");
        }
    }

    /// The text and the arguments, to be handed to `sqlx::query_as_with(&text, arguments)`
    /// in the caller's own scope, which both then outlive.
    pub(crate) fn into_parts(self) -> (String, DB::Arguments<'a>) {
        (self.text, self.args)
    }

    /// The SQL text, for tests.
    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Postgres, QueryBuilder, Sqlite};

    use super::Statement;

    /// The same text `QueryBuilder` writes, placeholders included, on both databases: the
    /// statements moved from it must not change.
    fn built_both_ways<DB: sqlx::Database>() -> (String, String)
    where
        for<'a> &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    {
        let rows = [("01", "a"), ("02", "b")];
        let mut statement = Statement::<DB>::new("SELECT 1 WHERE (x, y) IN (");
        statement.values(&rows, |(x, y)| [x, y]);
        statement.push(") AND z = ").bind("c");

        let mut qb = QueryBuilder::<DB>::new("SELECT 1 WHERE (x, y) IN (");
        qb.push_values(rows, |mut b, (x, y)| {
            b.push_bind(x).push_bind(y);
        });
        qb.push(") AND z = ").push_bind("c");
        (statement.text().to_owned(), qb.into_sql())
    }

    #[test]
    fn writes_what_query_builder_writes_on_postgres() {
        let (ours, theirs) = built_both_ways::<Postgres>();
        assert_eq!(ours, theirs);
        assert!(ours.ends_with("VALUES ($1, $2), ($3, $4)) AND z = $5"));
    }

    #[test]
    fn writes_what_query_builder_writes_on_sqlite() {
        let (ours, theirs) = built_both_ways::<Sqlite>();
        assert_eq!(ours, theirs);
        assert!(ours.ends_with("VALUES (?, ?), (?, ?)) AND z = ?"));
    }
}
