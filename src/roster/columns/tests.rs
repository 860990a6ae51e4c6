use super::*;

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// The header `gen-roster` writes for a reverse roster: the default names must read it.
const REVERSE: [&str; 16] = REVERSE_COLUMNS;

#[test]
fn the_default_reverse_header_resolves_and_is_detected() {
    let h = header(&REVERSE);
    let mapping = ColumnsFile::default();
    assert_eq!(detect_kind(&h, &mapping), Some(Kind::Reverse));
    let layout = resolve(Kind::Reverse, Some(&h), h.len(), &mapping, &[]).unwrap();
    assert_eq!(
        layout.declared,
        [Some(5), Some(6), Some(7), Some(8), Some(9)]
    );
    assert_eq!(layout.candidates.len(), 1);
    assert_eq!(layout.candidates[0].number, Some(15));
    assert_eq!(
        column_of_path(&layout, "candidates[0].fields.sex", &[0]),
        Some(13)
    );
}

#[test]
fn a_mapping_names_own_headers_or_positions() {
    let mapping = ColumnsFile::from_toml(
        "kind = \"reverse\"\nheader = false\n[columns]\ninsurer_number = 1\nsubject_id = 2\n\
         subject_kind = 3\nregistered_number = 4\nkanji_name = 5\nkana_name = 6\n\
         birth_date = 7\nsex = 8\naddress = 9\njlis_kanji_name = 10\njlis_kana_name = 11\n\
         jlis_birth_date = 12\njlis_sex = 13\njlis_address = 14\n",
    )
    .unwrap();
    let layout = resolve(Kind::Reverse, None, 14, &mapping, &[]).unwrap();
    assert_eq!(layout.subject_id, Some(1));
    assert_eq!(layout.candidates[0].number, None);
    assert_eq!(
        column_of_path(&layout, "candidates[0].individual_number", &[1]),
        Some(3),
        "an empty jlis_number is the registered number"
    );
    assert!(ColumnsFile::from_toml("[columns]\nnickname = 1\n").is_err());
    let by_name = ColumnsFile::from_toml("[columns]\nsubject_id = \"記号番号\"\n").unwrap();
    let mut h = header(&REVERSE);
    h[2] = "記号番号".into();
    let layout = resolve(Kind::Reverse, Some(&h), h.len(), &by_name, &[]).unwrap();
    assert_eq!(layout.subject_id, Some(2));
}

#[test]
fn a_misspelled_header_is_refused_with_the_name_it_was_meant_to_be() {
    let mut h = header(&REVERSE);
    h[0] = "requestid".into();
    h.push("recieved_at".into());
    let mapping = ColumnsFile::default();
    let layout = resolve(Kind::Reverse, Some(&h), h.len(), &mapping, &["request_id"]).unwrap();
    let err = refuse_unread_columns(&layout, &h).unwrap_err();
    assert!(
        err.contains("`requestid` (did you mean `request_id`?)"),
        "{err}"
    );
    // received_at is a registration column; in a reverse roster nothing reads it.
    assert!(err.contains("`recieved_at` (did you mean"), "{err}");
    assert!(err.contains("--ignore-extra-columns"), "{err}");

    let mut h = header(&REVERSE);
    h.push("備考".into());
    h.push("Request-ID".into());
    let layout = resolve(Kind::Reverse, Some(&h), h.len(), &mapping, &[]).unwrap();
    let err = refuse_unread_columns(&layout, &h).unwrap_err();
    assert!(err.contains("`備考`,"), "{err}");
    assert!(
        err.contains("`Request-ID` (did you mean `request_id`?)"),
        "{err}"
    );

    let h = header(&REVERSE);
    let layout = resolve(Kind::Reverse, Some(&h), h.len(), &mapping, &[]).unwrap();
    refuse_unread_columns(&layout, &h).unwrap();
}

#[test]
fn a_first_row_of_data_is_not_taken_for_a_header() {
    for cell in [
        "123456789018",
        "1975-01-01",
        "昭和50年1月1日",
        "32130011",
        "男",
        "２",
    ] {
        let mut h = header(&REVERSE);
        h[6] = cell.into();
        let err = refuse_data_as_header(&h).unwrap_err();
        assert!(err.contains("column 7"), "{cell}: {err}");
        assert!(!err.contains(cell), "the value is never shown: {err}");
    }
    refuse_data_as_header(&header(&REVERSE)).unwrap();
    refuse_data_as_header(&header(&["記号番号", "candidate1_number"])).unwrap();
}

#[test]
fn a_missing_required_column_is_refused_by_its_logical_name() {
    let h = header(&REVERSE[..9]);
    let err = resolve(
        Kind::Reverse,
        Some(&h),
        h.len(),
        &ColumnsFile::default(),
        &[],
    )
    .unwrap_err();
    assert!(err.contains("address"), "{err}");
}
