//! What the append algorithm itself finds wrong, whatever the database, and the one decoding
//! every backend shares (a stored hash).

use crate::audit::Hash;

/// A stored `hash` column as a hash; a value of another length is a decoding error.
pub(crate) fn hash_column(bytes: Vec<u8>) -> Result<Hash, AppendFault> {
    bytes.try_into().map_err(|_| AppendFault::HashNot32Bytes)
}

/// What the append algorithm itself finds wrong, whatever the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppendFault {
    /// An inserted event's row id did not come back from the INSERT.
    RowNotReturned,
    /// A chain's stored hash is not 32 bytes.
    HashNot32Bytes,
}

impl AppendFault {
    /// A content-free description.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            AppendFault::RowNotReturned => "an expected row is missing",
            AppendFault::HashNot32Bytes => "a stored hash is not 32 bytes",
        }
    }
}

/// As sqlx reported these before the writer had an error type of its own.
impl From<AppendFault> for sqlx::Error {
    fn from(fault: AppendFault) -> Self {
        match fault {
            AppendFault::RowNotReturned => sqlx::Error::RowNotFound,
            AppendFault::HashNot32Bytes => sqlx::Error::Decode(fault.describe().into()),
        }
    }
}
