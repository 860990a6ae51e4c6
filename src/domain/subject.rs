//! Who a verification is about, as far as the service needs to know: the insurer's own kind of
//! insured person. The subject itself is the insurer's id, never a name.

/// Whether the person is the insured member or a dependent (被扶養者).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SubjectKind {
    /// Not given by the caller.
    #[default]
    Unspecified,
    /// The insured member (組合員).
    Member,
    /// A dependent (被扶養者).
    Dependent,
}

impl SubjectKind {
    /// Every kind.
    pub const ALL: [SubjectKind; 3] = [
        SubjectKind::Unspecified,
        SubjectKind::Member,
        SubjectKind::Dependent,
    ];

    /// The stable id stored in the audit log (empty when not given). Never changes.
    pub const fn id(self) -> &'static str {
        match self {
            SubjectKind::Unspecified => "",
            SubjectKind::Member => "member",
            SubjectKind::Dependent => "dependent",
        }
    }

    /// The kind with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }
}
