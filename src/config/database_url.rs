//! The audit database's URL: a secret (a PostgreSQL URL may carry a password, in the user
//! information or as a `password=` option), so its `Debug` and `Display` never show one. The
//! settings derive `Debug`; before this type they printed the password with them.

use std::fmt;

/// A database URL (`sqlite:PATH`, `postgres://…`). Shown only with its password replaced.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL.
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(url.into())
    }

    /// The URL itself, password and all: for connecting, and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// `url` with any password replaced by `***`: in the user information
/// (`postgres://app:s3cret@db/x`) and in a `password=` option (`…?password=s3cret&…`).
pub fn redact_url(url: &str) -> String {
    let mut out = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    };
    if let Some(query_at) = out.find('?') {
        let (base, query) = out.split_at(query_at + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_shown_wherever_the_url_carries_it() {
        let cases = [
            ("postgres://app:s3cret@db/x", "postgres://app:***@db/x"),
            (
                "postgres://app@db/x?sslmode=require&password=s3cret",
                "postgres://app@db/x?sslmode=require&password=***",
            ),
            ("sqlite:var/audit.sqlite", "sqlite:var/audit.sqlite"),
        ];
        for (url, shown) in cases {
            let db = DatabaseUrl::new(url);
            assert_eq!(db.to_string(), shown);
            assert!(!format!("{db:?}").contains("s3cret"));
            assert_eq!(db.expose(), url);
        }
    }
}
