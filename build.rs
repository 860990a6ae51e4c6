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
        // Refused when every candidate of both schemes was read (issue 28): different
        // characters, or a relation not confirmed as one character.
        ('䎱', '曳'), ('倞', '勍'), ('倡', '娼'), ('徯', '蹊'), ('攵', '文'), ('昜', '陽'),
        ('确', '埆'), ('箌', '罩'), ('蹯', '籵'), ('汍', '汎'), ('桅', '梔'), ('溸', '遡'),
        // Equal-rank pairs of the map (both JIS level 1, or both level 2) that are different
        // characters in names and words.
        ('切', '功'), ('升', '舛'), ('吊', '弔'), ('宍', '肉'), ('帥', '師'), ('昼', '書'),
        ('杯', '盃'), ('柁', '舵'), ('玉', '王'), ('着', '著'), ('稿', '藁'), ('丗', '卅'),
        ('兀', '尢'), ('冫', '冰'), ('娚', '嫐'), ('娚', '嬲'), ('嫐', '嬲'), ('恫', '慟'),
        ('惷', '蠢'), ('揀', '柬'), ('攴', '攵'), ('敝', '敞'), ('榕', '穃'), ('燗', '爛'),
        ('爍', '鑠'), ('牴', '羝'), ('瑪', '碼'), ('緕', '纃'), ('蚫', '鮑'), ('錏', '鐚'),
        ('佩', '珮'), ('傅', '傳'), ('嘴', '觜'), ('嚠', '瀏'), ('檗', '蘗'), ('箝', '篏'),
        ('褝', '襌'),
    ];

    /// Pairs of the MJ map whose two forms have the same JIS X 0208 rank (both level 1, or
    /// both level 2), so that the rank cannot say which is the standard one. Each was reviewed
    /// as one character written two ways (old or popular form, 俗字, 同字) and is folded the
    /// way the map lists it (issue 28: 祢/禰, 頴/穎, 伜/倅, 迪/廸 were held). The equal-rank pairs
    /// that are different characters are in `REJECTED`.
    #[rustfmt::skip]
    const EQUAL_RANK_ALLOWED: &[(char, char)] = &[
        // JIS X 0208 level 1 on both sides.
        ('砿', '鉱'), ('祢', '禰'), ('頴', '穎'), ('舗', '鋪'),
        // Level 2 on both sides.
        ('仞', '仭'), ('伜', '倅'), ('佇', '竚'), ('佞', '侫'), ('俎', '爼'), ('俐', '悧'),
        ('僣', '僭'), ('冤', '寃'), ('冦', '寇'), ('冪', '羃'), ('剋', '尅'), ('卮', '巵'),
        ('厠', '廁'), ('厮', '廝'), ('啣', '銜'), ('噪', '譟'), ('嚏', '嚔'), ('囓', '齧'),
        ('址', '阯'), ('埒', '埓'), ('墸', '躇'), ('墻', '牆'), ('壜', '罎'), ('壥', '廛'),
        ('奘', '弉'), ('嫺', '嫻'), ('嬾', '懶'), ('崘', '崙'), ('帚', '菷'), ('廸', '迪'),
        ('弯', '彎'), ('彜', '彝'), ('忰', '悴'), ('慙', '慚'), ('慴', '懾'), ('懴', '懺'),
        ('戛', '戞'), ('扞', '捍'), ('抬', '擡'), ('搗', '擣'), ('旙', '旛'), ('昿', '曠'),
        ('晧', '皓'), ('曖', '瞹'), ('杆', '桿'), ('梹', '檳'), ('椁', '槨'), ('樒', '櫁'),
        ('檐', '簷'), ('檣', '艢'), ('檪', '櫟'), ('櫑', '罍'), ('殱', '殲'), ('泝', '溯'),
        ('浣', '澣'), ('漾', '瀁'), ('濶', '闊'), ('炯', '烱'), ('煕', '熈'), ('煕', '熙'),
        ('熈', '熙'), ('熏', '燻'), ('牋', '箋'), ('犁', '犂'), ('犲', '豺'), ('猊', '貎'),
        ('珱', '瓔'), ('琅', '瑯'), ('瑤', '瑶'), ('畴', '疇'), ('疣', '肬'), ('痒', '癢'),
        ('皰', '靤'), ('皸', '皹'), ('眥', '眦'), ('睹', '覩'), ('祓', '秡'), ('禀', '稟'),
        ('秕', '粃'), ('笋', '筍'), ('筐', '筺'), ('筝', '箏'), ('箘', '箟'), ('簑', '簔'),
        ('籐', '籘'), ('籖', '籤'), ('繦', '襁'), ('繿', '襤'), ('羈', '覊'), ('腟', '膣'),
        ('腮', '顋'), ('膾', '鱠'), ('舮', '艫'), ('芻', '蒭'), ('萼', '蕚'), ('蒂', '蔕'),
        ('虱', '蝨'), ('蟆', '蟇'), ('蟒', '蠎'), ('蠧', '蠹'), ('衂', '衄'), ('衽', '袵'),
        ('襪', '韈'), ('訛', '譌'), ('譖', '譛'), ('豼', '貔'), ('賍', '贓'), ('跖', '蹠'),
        ('躙', '躪'), ('輌', '輛'), ('輒', '輙'), ('銹', '鏥'), ('鑚', '鑽'), ('閙', '鬧'),
        ('閧', '鬨'), ('靹', '鞆'), ('韲', '齏'), ('飃', '飄'), ('鰛', '鰮'), ('鰲', '鼇'),
        ('鳧', '鳬'), ('鴟', '鵄'), ('鵝', '鵞'), ('鷆', '鷏'),
    ];

    /// Additions to the MJ data: true old/new pairs of one character that neither kept scheme
    /// maps, each with a test in `src/domain/text/kanji.rs`: 檜 and its popular form 桧, the old
    /// forms 遙 of 遥, 巖 of 巌 and 穰 of 穣 (人名用漢字 lists each old form beside its new one), and
    /// 礒/磯, 晄/晃 (同字: one character in two shapes, held in issue 28). Not here: 齊, the old
    /// form of 斉 (MJ maps it so), which must never fold to 斎 — 斎 and 斉 are two different
    /// characters, both common in surnames.
    const OVERRIDES: &[(char, char, u8)] = &[
        ('檜', '桧', MOJ),
        ('遙', '遥', MOJ),
        ('巖', '巌', MOJ),
        ('穰', '穣', MOJ),
        ('礒', '磯', MOJ),
        ('晄', '晃', MOJ),
    ];

    /// Pairs that systems of different ages show for one another because of what the JIS
    /// standards did, written from the standards (rule `kanji.variant.jis_revision`). Each is
    /// (variant, the form it folds to, the reason). The folding direction follows the JIS
    /// X 0208 rank (level 1 above level 2 above the rest); the reason says where the pair
    /// comes from. `src/domain/text/kanji.rs` tests that every pair folds together.
    #[rustfmt::skip]
    const JIS_REVISION: &[(char, char, &str)] = &[
        // JIS X 0208:1983 exchanged these 22 pairs between level 1 and level 2: a 1978 system
        // shows one form where a 1983 one shows the other, at the same code.
        ('鰺', '鯵', SWAP_1983), ('鶯', '鴬', SWAP_1983), ('蠣', '蛎', SWAP_1983),
        ('攪', '撹', SWAP_1983), ('竈', '竃', SWAP_1983), ('灌', '潅', SWAP_1983),
        ('諫', '諌', SWAP_1983), ('頸', '頚', SWAP_1983), ('礦', '砿', SWAP_1983),
        ('蕊', '蘂', SWAP_1983), ('靱', '靭', SWAP_1983), ('賤', '賎', SWAP_1983),
        ('壺', '壷', SWAP_1983), ('礪', '砺', SWAP_1983), ('檮', '梼', SWAP_1983),
        ('濤', '涛', SWAP_1983), ('邇', '迩', SWAP_1983), ('蠅', '蝿', SWAP_1983),
        ('檜', '桧', SWAP_1983), ('儘', '侭', SWAP_1983), ('藪', '薮', SWAP_1983),
        ('籠', '篭', SWAP_1983),
        // JIS X 0208:1983 simplified the glyph at these four codes (拡張新字体) and gave the
        // old shape a code of its own in row 84 (84-1 to 84-4); a system of 1978 prints the old
        // shape at the first code. (遙/遥 already folds by the 法務省 list, `OVERRIDES`, whose
        // rule it keeps.)
        ('槇', '槙', SIMPLIFIED_1983), ('堯', '尭', SIMPLIFIED_1983),
        ('瑤', '瑶', SIMPLIFIED_1983), ('遙', '遥', SIMPLIFIED_1983),
        // Both shapes (麥 and 麦) at two neighbouring level-2 codes (83-47, 83-48): systems
        // that pick by shape write either.
        ('麩', '麸', BOTH_LEVEL2),
        // JIS X 0208:1990 added two codes (0x7425, 0x7426) for forms that 1983 had unified.
        ('凜', '凛', ADDED_1990), ('熙', '煕', ADDED_1990),
        // JIS X 0208:1983 changed the shape at 29 codes so far that JIS X 0208:1997 (6.6.4)
        // keeps a special 包摂規準 for them, so that a 1978 system printing the old shape still
        // conforms (鴎's 區 became 区). JIS X 0213:2000 gave each old shape a code of its own in
        // plane 1 beside the 1983 one: a JIS X 0213 system writes one, a JIS X 0208 system the
        // other. All 29 are here (each checked: the new form a JIS X 0208 code, the old one a
        // JIS X 0213 code only).
        ('鷗', '鴎', TRADITIONAL_0213), ('驒', '騨', TRADITIONAL_0213),
        ('嚙', '噛', TRADITIONAL_0213), ('瀆', '涜', TRADITIONAL_0213),
        ('禱', '祷', TRADITIONAL_0213), ('蟬', '蝉', TRADITIONAL_0213),
        ('摑', '掴', TRADITIONAL_0213), ('繡', '繍', TRADITIONAL_0213),
        ('蔣', '蒋', TRADITIONAL_0213), ('醬', '醤', TRADITIONAL_0213),
        ('簞', '箪', TRADITIONAL_0213), ('頰', '頬', TRADITIONAL_0213),
        ('塡', '填', TRADITIONAL_0213), ('俠', '侠', TRADITIONAL_0213),
        ('屢', '屡', TRADITIONAL_0213), ('蠟', '蝋', TRADITIONAL_0213),
        ('顚', '顛', TRADITIONAL_0213), ('焰', '焔', TRADITIONAL_0213),
        ('萊', '莱', TRADITIONAL_0213), ('潑', '溌', TRADITIONAL_0213),
        ('麴', '麹', TRADITIONAL_0213), ('攢', '攅', TRADITIONAL_0213),
        ('啞', '唖', TRADITIONAL_0213), ('軀', '躯', TRADITIONAL_0213),
        ('鹼', '鹸', TRADITIONAL_0213), ('搔', '掻', TRADITIONAL_0213),
        ('囊', '嚢', TRADITIONAL_0213), ('醱', '醗', TRADITIONAL_0213),
        ('麵', '麺', TRADITIONAL_0213),
        // JIS X 0213:2004 changed 168 example glyphs to the 印刷標準字体 of the 表外漢字字体表
        // (2000) and gave these ten a code of their own instead, so that data written before
        // keeps its shape.
        ('俱', '倶', ADDED_2004), ('剝', '剥', ADDED_2004), ('𠮟', '叱', ADDED_2004),
        ('吞', '呑', ADDED_2004), ('噓', '嘘', ADDED_2004), ('姸', '妍', ADDED_2004),
        ('屛', '屏', ADDED_2004), ('幷', '并', ADDED_2004), ('瘦', '痩', ADDED_2004),
        ('繫', '繋', ADDED_2004),
        // Not here, with the reason:
        //
        // - The other 158 glyphs JIS X 0213:2004 changed have no second code point: Unicode
        //   unifies both shapes under one (辻 with one dot or two is U+8FBB either way), so
        //   both systems already write the same character. The 168 are 逢 芦 飴 溢 茨 鰯 淫 迂 厩
        //   噂 餌 襖 迦 牙 廻 恢 晦 蟹 葛 鞄 釜 翰 翫 徽 祇 汲 灸 笈 卿 饗 僅 喰 櫛 屑 粂 祁 隙 倦 捲
        //   牽 鍵 諺 巷 梗 膏 鵠 甑 叉 榊 薩 鯖 錆 鮫 餐 杓 灼 酋 楯 薯 藷 哨 鞘 杖 蝕 訊 逗 摺 撰 煎
        //   煽 穿 箭 詮 噌 遡 揃 遜 腿 蛸 辿 樽 歎 註 瀦 捗 槌 鎚 辻 挺 鄭 擢 溺 兎 堵 屠 賭 瀞 遁 謎
        //   灘 楢 禰 牌 這 秤 駁 箸 叛 挽 誹 樋 稗 逼 謬 豹 廟 瀕 斧 蔽 瞥 蔑 篇 娩 鞭 庖 蓬 鱒 迄 儲
        //   餅 籾 爺 鑓 愈 猷 漣 煉 簾 榔 屢 冤 叟 咬 嘲 囀 徘 扁 棘 橙 狡 甕 甦 疼 祟 竈 筵 篝 腱 艘
        //   芒 虔 蜃 蠅 訝 靄 靱 騙 鴉. (The ten above are not among them: their old codes kept
        //   the 2000 shape, and the new shape got a code of its own.)
        // - Where the two shapes are told apart in Unicode, it is by an ideographic variation
        //   sequence (葛 U+845B with U+E0100 or U+E0101): the base character is the same, and a
        //   selector on either side folds under `kanji.variation_selector`.
        // - Fifteen of them also have CJK compatibility ideographs, which come from Korean and
        //   Taiwanese sets (卿 U+2F831–U+2F833, 櫛 杓 杖 溺 屠 瀞 ×2, 挽 愈 漣 煉 簾 屢 冤 叟), not
        //   from JIS: neither is the 2000 or the 2004 shape, and each decomposes canonically, so
        //   `kanji.compatibility` makes it the unified ideograph, as notation, before this table
        //   is read.
        // - Some of the 168 have another code point for a related character that is not the
        //   other shape of the 2004 change, and people write them apart: 瀕 (brink) and 濱
        //   (beach, the old form of 浜), 槌 and 椎 (the tree of 椎名), 鎚 and 錘, 薯 and 藷, 歎
        //   and 嘆, 廻 and 回, 淫 and 婬, 甕 and 瓮. Never folded; `src/domain/text/kanji.rs`
        //   tests that each stays apart. Pairs that are one character in JIS X 0208 itself
        //   since 1978 (餅/餠, 兎/兔, 冤/寃, 蟹/蠏) are the MJ map's to fold, not this list's.
    ];
    const SWAP_1983: &str = "JIS X 0208:1983 exchanged the pair between level 1 and level 2";
    const SIMPLIFIED_1983: &str =
        "JIS X 0208:1983 simplified the glyph at the code and moved the old one to row 84";
    const BOTH_LEVEL2: &str = "JIS X 0208 codes both shapes side by side in level 2";
    const ADDED_1990: &str = "JIS X 0208:1990 added a code for the form 1983 had unified";
    const TRADITIONAL_0213: &str =
        "JIS X 0213:2000 encoded the traditional form beside the 1983 one";
    const ADDED_2004: &str = "JIS X 0213:2004 added a code for the form of its glyph change";

    const JIS: u8 = 0;
    const MOJ: u8 = 1;
    const JIS_REV: u8 = 2;

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

    /// Every candidate of `c` under `scheme` other than `c` itself, in the map's order. jntajis
    /// ends a scheme's list where it reaches `c`; what lies after it is found from the other
    /// side, since each of those characters lists `c` (the second pass of `write`).
    fn candidates(c: char, scheme: MJShrinkScheme) -> Vec<char> {
        let s = c.to_string();
        let schemes = MJShrinkSchemes::builder().with(scheme);
        mj_shrink_candidates(&s, schemes)
            .filter_map(|cand| {
                let mut chars = cand.chars();
                match (chars.next(), chars.next()) {
                    (Some(t), None) if t != c => Some(t),
                    _ => None,
                }
            })
            .collect()
    }

    /// Whether the map's link from `s` to `t` may fold `s` into `t`: never a refused pair,
    /// towards a more standard rank, a level-1 source only from a reviewed list, and between
    /// two forms of equal rank only when reviewed.
    fn allowed(s: char, t: char) -> bool {
        if REJECTED.contains(&(s, t)) || REJECTED.contains(&(t, s)) {
            return false;
        }
        let (rs, rt) = (rank(s), rank(t));
        if EQUAL_RANK_ALLOWED.contains(&(s, t)) {
            return rs == rt;
        }
        if rs == 1 {
            LEVEL1_ALLOWED.contains(&(s, t))
        } else {
            rt < rs
        }
    }

    /// The unified ideograph a compatibility ideograph decomposes to canonically, if any.
    fn canonical(c: char) -> Option<char> {
        let mut out = None;
        let mut count = 0;
        unicode_normalization::char::decompose_canonical(c, |d| {
            out = Some(d);
            count += 1;
        });
        out.filter(|&d| d != c && count == 1)
    }

    /// Where `c` ends up by following `direct`, stopping at a cycle.
    fn follow(direct: &BTreeMap<char, (char, u8)>, c: char) -> char {
        let mut t = c;
        for _ in 0..8 {
            match direct.get(&t) {
                Some(&(next, _)) if next != c => t = next,
                _ => break,
            }
        }
        t
    }

    pub(super) fn write(path: &Path) -> std::io::Result<()> {
        let ranges = [
            0x3400..=0x4DBF,
            0x4E00..=0x9FFF,
            0xF900..=0xFAFF,
            0x20000..=0x3134F,
        ];
        let all: Vec<char> = ranges
            .into_iter()
            .flatten()
            .filter_map(char::from_u32)
            .collect();
        let schemes = [
            (MJShrinkScheme::JISIncorporationUCSUnificationRule, JIS),
            (MJShrinkScheme::MOJFamilyRegisterActRelatedNotice, MOJ),
        ];
        // First pass: each character's own candidates, JIS scheme first, every candidate in
        // the map's order (not only the first, which is often the character itself).
        // Characters outside the Basic Multilingual Plane keep the first candidate only: their
        // further links were not reviewed (rare Extension B shapes), and an unreviewed pair
        // stays held.
        let mut direct: BTreeMap<char, (char, u8)> = BTreeMap::new();
        'chars: for &c in &all {
            for (scheme, id) in schemes {
                let cands = candidates(c, scheme);
                let take = if (c as u32) < 0x1_0000 {
                    cands.len()
                } else {
                    1
                };
                for &t in cands.iter().take(take) {
                    if allowed(c, t) {
                        direct.insert(c, (t, id));
                        continue 'chars;
                    }
                }
            }
        }
        // Second pass: links the map lists from the standard form to the variant (the 法務省
        // scheme often maps 祷 to 禱, 禄 to 祿): the variant folds to the standard form when it
        // has no link of its own. Only in the Basic Multilingual Plane, as above.
        let own = direct.clone();
        for &c in &all {
            for (scheme, id) in schemes {
                for t in candidates(c, scheme) {
                    if (t as u32) >= 0x1_0000 || own.contains_key(&t) || !allowed(t, c) {
                        continue;
                    }
                    let better = direct.get(&t).is_none_or(|&(old, _)| rank(c) < rank(old));
                    if better && follow(&direct, c) != t {
                        direct.insert(t, (c, id));
                    }
                }
            }
        }
        for &(s, t, id) in OVERRIDES {
            direct.insert(s, (t, id));
        }
        // A pair that already folds together keeps the map's rule; the others come from the
        // standards.
        for &(a, b, _) in JIS_REVISION {
            let (s, t) = if rank(b) <= rank(a) { (a, b) } else { (b, a) };
            if follow(&direct, s) != follow(&direct, t) {
                assert!(
                    follow(&direct, t) != s,
                    "JIS pair cycle at U+{:04X}",
                    s as u32
                );
                direct.insert(s, (t, JIS_REV));
            }
        }
        // Follow chains to a fixpoint (邉→邊→辺). A chain that comes back to its start is a
        // bug in the lists above: the build stops rather than write a table that folds a pair
        // apart.
        let mut table = Vec::with_capacity(direct.len());
        for (&s, &(_, id)) in &direct {
            // A compatibility ideograph with a canonical decomposition (令 U+F9A8) is the same
            // character as its decomposition, folded as notation before this table is read.
            if canonical(s).is_some() {
                continue;
            }
            let t = follow(&direct, s);
            assert!(
                canonical(t).is_none(),
                "a target with a decomposition: U+{:04X}",
                t as u32
            );
            assert!(
                t != s && !direct.contains_key(&t),
                "variant cycle at U+{:04X}",
                s as u32
            );
            // A refused pair stays refused through a chain too (䄢 → 齊 → 斉).
            if REJECTED.contains(&(s, t)) || REJECTED.contains(&(t, s)) {
                continue;
            }
            table.push((s, t, id));
        }
        let mut src = String::from(
            "/// (variant, standard form, scheme: 0 = JIS 包摂, 1 = 法務省戸籍通達, 2 = JIS revisions),\n\
             /// sorted by variant. Generated by build.rs from jntajis's MJ 縮退 map and the reviewed lists.\n\
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
        for (name, pairs) in [
            ("EQUAL_RANK_PAIRS", EQUAL_RANK_ALLOWED),
            (
                "OVERRIDE_PAIRS",
                &OVERRIDES
                    .iter()
                    .map(|&(a, b, _)| (a, b))
                    .collect::<Vec<_>>()[..],
            ),
            (
                "JIS_REVISION_PAIRS",
                &JIS_REVISION
                    .iter()
                    .map(|&(a, b, _)| (a, b))
                    .collect::<Vec<_>>()[..],
            ),
        ] {
            writeln!(src, "/// Reviewed pairs (build.rs): each must fold together.\n#[cfg(test)]\nstatic {name}: &[(char, char)] = &[").unwrap();
            for &(a, b) in pairs {
                writeln!(
                    src,
                    "    ('\\u{{{:x}}}', '\\u{{{:x}}}'),",
                    a as u32, b as u32
                )
                .unwrap();
            }
            src.push_str("];\n");
        }
        fs::write(path, src)
    }
}
