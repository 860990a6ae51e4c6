//! Parsing a SubjectHistory request.

use super::{FieldViolation, field};
use crate::{
    contract::pb,
    domain::ids::{InsurerNumber, SubjectId},
    verification::inputs::SubjectHistory,
};

/// Parses a SubjectHistory request: a well-formed insurer number and subject id, both
/// required.
pub fn parse_subject_history(
    r: &pb::SubjectHistoryRequest,
) -> Result<SubjectHistory, Vec<FieldViolation>> {
    let mut v = Vec::new();
    let insurer = field(
        &mut v,
        "insurer_number",
        InsurerNumber::parse(&r.insurer_number),
    );
    let subject_id = field(&mut v, "subject_id", SubjectId::parse(&r.subject_id));
    match (insurer, subject_id) {
        (Some(insurer), Some(subject_id)) => Ok(SubjectHistory {
            insurer,
            subject_id,
        }),
        _ => Err(v),
    }
}
