//! A field a request got wrong: named by its path, described without its value. The one
//! shape every interface reports bad input in (gRPC's BadRequest violations, a CLI message, a
//! console form's error), and what the use cases return for bad input of their own (a page
//! token that does not open).

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path in the request, e.g. `candidates[0].individual_number`.
    pub field: String,
    /// What is wrong, without the value.
    pub description: String,
}

impl std::fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}
