//! Build steps that need no system tools:
//!
//! 1. Compile `proto/` with protox (pure Rust, so a fresh machine needs no `protoc`), generate
//!    prost/tonic code and pbjson serde impls (proto3 JSON), and write the encoded
//!    `FileDescriptorSet` for gRPC reflection.
//! 2. Precompute the per-character kanji variant table from jntajis's MJ 縮退 map, filtered for
//!    identity matching (see `variant_table`), so that folding at run time is one lookup per
//!    character.

use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    compile_proto(&out_dir)?;
    variant_table::write(&out_dir.join("kanji_variants.rs"))?;
    Ok(())
}

fn compile_proto(out_dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    // `sqlx::migrate!` embeds the migrations: a new file must rebuild the crate.
    println!("cargo:rerun-if-changed=migrations");
    let fds = protox::compile(
        [
            "verifyidentity/v1/verify_identity.proto",
            "verifyidentity/audit/v1/event.proto",
        ],
        ["proto"],
    )?;
    let descriptor_bytes = prost::Message::encode_to_vec(&fds);
    // compile_fds does not write the descriptor set that reflection needs: write it ourselves.
    fs::write(
        out_dir.join("verifyidentity_descriptor.bin"),
        &descriptor_bytes,
    )?;
    tonic_prost_build::configure()
        // Well-known types come from pbjson-types (prost types with proto3 JSON serde impls);
        // compile_well_known_types drops prost-build's own mapping to prost-types.
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        // prost's codec, except that an undecodable request is INVALID_ARGUMENT naming the field.
        .codec_path("crate::grpc::codec::ServiceCodec")
        .compile_fds(fds)?;
    // emit_fields: print zero values too (selected_candidate 0, candidate_index 0 are meaningful).
    pbjson_build::Builder::new()
        .register_descriptors(&descriptor_bytes)?
        .emit_fields()
        .build(&[".verifyidentity.v1"])?;
    Ok(())
}

/// The kanji variant table.
///
/// jntajis offers four MJ 縮退 schemes. Two are used:
/// - `JISIncorporationUCSUnificationRule` (JIS 包摂規準・UCS 統合規則): glyph variants that the
///   character-set standards themselves treat as one character — rule id `kanji.variant.mj.jis`;
/// - `MOJFamilyRegisterActRelatedNotice` (法務省 戸籍法関連通達): old and popular forms that the
///   family register treats as the same character (邊→辺, 齋→斎, 澤→沢) — `kanji.variant.mj.moj`.
///
/// Rejected as unsafe for identity: `InferenceByReadingAndGlyph` (inferred from readings, the
/// loosest) and `MOJNotice582` (別表第四, which maps e.g. 佴→耻 and 仅→付).
///
/// Even the two kept schemes contain mappings between distinct everyday characters (玉→王,
/// 功→切, 書→昼, 師→帥, 着→著) and mappings from new to old forms (真→眞). So a mapping is kept
/// only when it moves towards a more standard character: JIS X 0208 level 1 ranks above level 2,
/// which ranks above everything else. A level-1 source is kept only when it is on a short,
/// reviewed list of name variants (嶋→島, 冨→富, 龍→竜 …). A folding rule must never make two
/// different people equal: when in doubt, a pair stays unequal and the gate holds.
mod variant_table {
    use jntajis::codec::mj_shrink::{MJShrinkScheme, MJShrinkSchemes, mj_shrink_candidates};
    use std::{collections::BTreeMap, fmt::Write as _, fs, path::Path};

    /// Level-1 → level-1 mappings of the MOJ scheme reviewed as name/place variants.
    const LEVEL1_ALLOWED: &[(char, char)] = &[
        ('冨', '富'),
        ('埜', '野'),
        ('峯', '峰'),
        ('嶋', '島'),
        ('曾', '曽'),
        ('栢', '柏'),
        ('桝', '枡'),
        ('楳', '梅'),
        ('涌', '湧'),
        ('瀧', '滝'),
        ('燈', '灯'),
        ('舘', '館'),
        ('苅', '刈'),
        ('薗', '園'),
        ('駈', '駆'),
        ('龍', '竜'),
        ('穐', '秋'),
    ];

    /// Mappings of the two kept schemes refused after review: the two characters are different
    /// characters in names and places (槁 "wither" is not 橋, 个 is not 介, 剌 is not 刺), or the
    /// relation could not be confirmed as one character's old or variant form (mostly rare
    /// Extension B shapes). Refusing a true pair costs a hold; keeping a false one lets two
    /// different names match. `src/domain/text/kanji.rs` tests that none of them folds.
    #[rustfmt::skip]
    const REJECTED: &[(char, char)] = &[
        // Different characters.
        ('槁', '橋'), ('皀', '香'), ('隹', '佳'), ('个', '介'), ('慱', '博'), ('耒', '来'),
        ('傅', '伝'), ('亟', '丞'), ('唔', '吾'), ('樮', '橘'), ('昜', '易'), ('擱', '閣'),
        ('碚', '培'), ('剌', '刺'), ('誥', '詰'), ('逑', '述'), ('抂', '狂'), ('屓', '負'),
        ('臙', '咽'), ('孩', '咳'), ('閧', '巷'), ('縲', '累'), ('乢', '蓋'), ('尢', '尤'),
        ('夂', '終'), ('䆐', '国'),
        // Related in old texts but separate characters in use, or unconfirmed.
        ('哥', '歌'), ('寉', '鶴'), ('嚥', '咽'), ('鬻', '粥'), ('笵', '範'), ('糢', '模'),
        ('楜', '胡'), ('䄢', '斉'), ('𩱥', '斎'), ('𩱳', '斎'), ('䬩', '斎'), ('𪗒', '斎'),
        ('𭚃', '斉'), ('𧜍', '斉'), ('𠆪', '高'), ('𠙻', '王'), ('𠰶', '王'), ('𡇛', '直'),
        ('𣴒', '犬'), ('𤣪', '玉'), ('𥝍', '玉'), ('𠔿', '田'), ('𨽗', '浜'), ('𢇻', '知'),
        ('𣕓', '子'), ('𠅅', '末'), ('𧢱', '性'), ('𨊊', '楽'), ('𣡳', '太'), ('𩐔', '好'),
        ('﨣', '赳'), ('﨤', '返'),
    ];

    /// Additions to the MJ data: true old/new pairs of one character that neither kept scheme
    /// maps (檜 and its popular form 桧, the old forms 遙 of 遥 and 巖 of 巌), each with a test in
    /// `src/domain/text/kanji.rs`. Not here: 齊, the old form of 斉 (MJ maps it so), which must
    /// never fold to 斎 — 斎 and 斉 are two different characters, both common in surnames.
    const OVERRIDES: &[(char, char, u8)] =
        &[('檜', '桧', MOJ), ('遙', '遥', MOJ), ('巖', '巌', MOJ)];

    const JIS: u8 = 0;
    const MOJ: u8 = 1;

    /// 1 for JIS X 0208 level 1, 2 for level 2, 3 for anything else.
    fn rank(c: char) -> u8 {
        let mut buf = [0u8; 32];
        let mut encoder = encoding_rs::EUC_JP.new_encoder();
        let s = c.to_string();
        let (result, _, written) = encoder.encode_from_utf8_without_replacement(&s, &mut buf, true);
        if result != encoding_rs::EncoderResult::InputEmpty || written != 2 || buf[0] < 0xA1 {
            return 3;
        }
        match buf[0] - 0xA0 {
            16..=47 => 1,
            48..=84 => 2,
            _ => 3,
        }
    }

    fn first_candidate(c: char, scheme: MJShrinkScheme) -> Option<char> {
        let s = c.to_string();
        let schemes = MJShrinkSchemes::builder().with(scheme);
        let first = mj_shrink_candidates(&s, schemes).next()?;
        let mut chars = first.chars();
        match (chars.next(), chars.next()) {
            (Some(t), None) if t != c => Some(t),
            _ => None,
        }
    }

    pub(super) fn write(path: &Path) -> std::io::Result<()> {
        let ranges = [
            0x3400..=0x4DBF,
            0x4E00..=0x9FFF,
            0xF900..=0xFAFF,
            0x20000..=0x3134F,
        ];
        let mut direct: BTreeMap<char, (char, u8)> = BTreeMap::new();
        for c in ranges.into_iter().flatten().filter_map(char::from_u32) {
            for (scheme, id) in [
                (MJShrinkScheme::JISIncorporationUCSUnificationRule, JIS),
                (MJShrinkScheme::MOJFamilyRegisterActRelatedNotice, MOJ),
            ] {
                let Some(t) = first_candidate(c, scheme) else {
                    continue;
                };
                if REJECTED.contains(&(c, t)) {
                    continue;
                }
                let (rs, rt) = (rank(c), rank(t));
                let allowed = if rs == 1 {
                    LEVEL1_ALLOWED.contains(&(c, t))
                } else {
                    rt < rs
                };
                if allowed {
                    direct.entry(c).or_insert((t, id));
                    break;
                }
            }
        }
        for &(s, t, id) in OVERRIDES {
            direct.insert(s, (t, id));
        }
        // Follow chains to a fixpoint (邉→邊→辺); ranks strictly improve, so chains end.
        let mut table = Vec::with_capacity(direct.len());
        for (&s, &(mut t, id)) in &direct {
            let mut steps = 0;
            while let Some(&(next, _)) = direct.get(&t) {
                if next == s || steps > 8 {
                    break;
                }
                t = next;
                steps += 1;
            }
            table.push((s, t, id));
        }
        let mut src = String::from(
            "/// (variant, standard form, scheme: 0 = JIS 包摂, 1 = 法務省戸籍通達), sorted by variant.\n\
             /// Generated by build.rs from jntajis's MJ 縮退 map.\n\
             static KANJI_VARIANTS: &[(char, char, u8)] = &[\n",
        );
        for (s, t, id) in table {
            writeln!(
                src,
                "    ('\\u{{{:x}}}', '\\u{{{:x}}}', {id}),",
                s as u32, t as u32
            )
            .unwrap();
        }
        src.push_str("];\n");
        src.push_str(
            "/// Pairs of the MJ map refused after review (build.rs `REJECTED`): never folded.\n\
             #[cfg(test)]\n\
             static REJECTED_PAIRS: &[(char, char)] = &[\n",
        );
        for &(s, t) in REJECTED {
            writeln!(
                src,
                "    ('\\u{{{:x}}}', '\\u{{{:x}}}'),",
                s as u32, t as u32
            )
            .unwrap();
        }
        src.push_str("];\n");
        fs::write(path, src)
    }
}
