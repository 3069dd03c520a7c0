//! The six stock notetypes a new collection starts with, as the official
//! server (Anki 26.9.3) writes them: names, fields, templates, CSS, LaTeX
//! header/footer and card requirements.
//!
//! The template strings and CSS are data from the official collection file and
//! must stay byte-for-byte identical to it. Field and template ids are left
//! unset here; [`StockNotetype::assign_ids`] fills them with random values
//! when a collection is created.

use super::proto::{
    CardRequirement, CardRequirementKind, FieldConfig, NotetypeConfig, NotetypeKind,
    OriginalStockKind, TemplateConfig,
};

/// CSS of the Basic-family notetypes.
pub const BASIC_CSS: &str = ".card {
    font-family: arial;
    font-size: 20px;
    line-height: 1.5;
    text-align: center;
    color: black;
    background-color: white;
}
";

/// Extra CSS appended to [`BASIC_CSS`] for the Cloze notetype.
pub const CLOZE_EXTRA_CSS: &str = ".cloze {
    font-weight: bold;
    color: blue;
}
.nightMode .cloze {
    color: lightblue;
}
";

/// CSS of the Image Occlusion notetype.
pub const IMAGE_OCCLUSION_CSS: &str = "#image-occlusion-canvas {
    --inactive-shape-color: #ffeba2;
    --active-shape-color: #ff8e8e;
    --inactive-shape-border: 1px #212121;
    --active-shape-border: 1px #212121;
    --highlight-shape-color: #ff8e8e00;
    --highlight-shape-border: 1px #ff8e8e;
}

.card {
    font-family: arial;
    font-size: 20px;
    text-align: center;
    color: black;
    background-color: white;
}
";

/// LaTeX header of every stock notetype.
pub const LATEX_PRE: &str = r"\documentclass[12pt]{article}
\special{papersize=3in,5in}
\usepackage[utf8]{inputenc}
\usepackage{amssymb,amsmath}
\pagestyle{empty}
\setlength{\parindent}{0in}
\begin{document}
";

/// LaTeX footer of every stock notetype.
pub const LATEX_POST: &str = r"\end{document}";

/// Front template of Image Occlusion; the back template is this plus
/// [`IMAGE_OCCLUSION_BACK_EXTRA`].
pub const IMAGE_OCCLUSION_QFMT: &str = r#"{{#Header}}<div>{{Header}}</div>{{/Header}}
<div style="display: none">{{cloze:Occlusion}}</div>
<div id="err"></div>
<div id="image-occlusion-container">
    {{Image}}
    <canvas id="image-occlusion-canvas"></canvas>
</div>
<script>
try {
    anki.imageOcclusion.setup();
} catch (exc) {
    document.getElementById("err").innerHTML = `Error loading image occlusion. Is your Anki version up to date?<br><br>${exc}`;
}
</script>
"#;

/// What the Image Occlusion back template adds after [`IMAGE_OCCLUSION_QFMT`].
pub const IMAGE_OCCLUSION_BACK_EXTRA: &str = r#"
<div><button id="toggle">Toggle Masks</button></div>
{{#Back Extra}}<div>{{Back Extra}}</div>{{/Back Extra}}
"#;

/// A stock notetype before it is written to a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct StockNotetype {
    /// `notetypes.name`.
    pub name: &'static str,
    /// `notetypes.config`.
    pub config: NotetypeConfig,
    /// `fields` rows, in ordinal order.
    pub fields: Vec<StockField>,
    /// `templates` rows, in ordinal order.
    pub templates: Vec<StockTemplate>,
}

/// One field of a stock notetype.
#[derive(Debug, Clone, PartialEq)]
pub struct StockField {
    /// `fields.name`.
    pub name: &'static str,
    /// `fields.config`.
    pub config: FieldConfig,
}

/// One card template of a stock notetype.
#[derive(Debug, Clone, PartialEq)]
pub struct StockTemplate {
    /// `templates.name`.
    pub name: &'static str,
    /// `templates.config`.
    pub config: TemplateConfig,
}

impl StockNotetype {
    /// Gives every field and template the id `next_id()` returns (the
    /// official server uses random 64-bit values).
    pub fn assign_ids(&mut self, mut next_id: impl FnMut() -> i64) {
        for f in &mut self.fields {
            f.config.id = Some(next_id());
        }
        for t in &mut self.templates {
            t.config.id = Some(next_id());
        }
    }
}

/// The six stock notetypes in the order the official server creates them
/// (which is also the order of their ids): Basic, Basic (and reversed card),
/// Basic (optional reversed card), Basic (type in the answer), Cloze, Image
/// Occlusion. Field and template ids are `None`.
pub fn stock_notetypes() -> Vec<StockNotetype> {
    vec![
        basic(),
        basic_and_reversed(),
        basic_optional_reversed(),
        basic_typing(),
        cloze(),
        image_occlusion(),
    ]
}

/// The name of the notetype `curModel` points to in a new collection.
pub const DEFAULT_NOTETYPE_NAME: &str = "Basic";

fn field(name: &'static str) -> StockField {
    StockField {
        name,
        config: FieldConfig {
            font_name: "Arial".into(),
            font_size: 20,
            ..Default::default()
        },
    }
}

/// A field of a special notetype: carries a role `tag` and maybe
/// `prevent_deletion`.
fn tagged_field(name: &'static str, tag: u32, prevent_deletion: bool) -> StockField {
    let mut f = field(name);
    f.config.tag = Some(tag);
    f.config.prevent_deletion = prevent_deletion;
    f
}

fn template(name: &'static str, qfmt: &str, afmt: &str) -> StockTemplate {
    StockTemplate {
        name,
        config: TemplateConfig {
            q_format: qfmt.into(),
            a_format: afmt.into(),
            ..Default::default()
        },
    }
}

fn req(card_ord: u32, kind: CardRequirementKind, field_ords: &[u32]) -> CardRequirement {
    CardRequirement {
        card_ord,
        kind: kind as i32,
        field_ords: field_ords.to_vec(),
    }
}

fn config(
    kind: NotetypeKind,
    css: String,
    reqs: Vec<CardRequirement>,
    stock: OriginalStockKind,
) -> NotetypeConfig {
    NotetypeConfig {
        kind: kind as i32,
        css,
        latex_pre: LATEX_PRE.into(),
        latex_post: LATEX_POST.into(),
        reqs,
        original_stock_kind: stock as i32,
        ..Default::default()
    }
}

const FRONT_BACK_AFMT: &str = "{{FrontSide}}\n\n<hr id=answer>\n\n{{Back}}";
const BACK_FRONT_AFMT: &str = "{{FrontSide}}\n\n<hr id=answer>\n\n{{Front}}";

fn basic() -> StockNotetype {
    StockNotetype {
        name: "Basic",
        config: config(
            NotetypeKind::Normal,
            BASIC_CSS.into(),
            vec![req(0, CardRequirementKind::Any, &[0])],
            OriginalStockKind::Basic,
        ),
        fields: vec![field("Front"), field("Back")],
        templates: vec![template("Card 1", "{{Front}}", FRONT_BACK_AFMT)],
    }
}

fn basic_and_reversed() -> StockNotetype {
    StockNotetype {
        name: "Basic (and reversed card)",
        config: config(
            NotetypeKind::Normal,
            BASIC_CSS.into(),
            vec![
                req(0, CardRequirementKind::Any, &[0]),
                req(1, CardRequirementKind::Any, &[1]),
            ],
            OriginalStockKind::BasicAndReversed,
        ),
        fields: vec![field("Front"), field("Back")],
        templates: vec![
            template("Card 1", "{{Front}}", FRONT_BACK_AFMT),
            template("Card 2", "{{Back}}", BACK_FRONT_AFMT),
        ],
    }
}

fn basic_optional_reversed() -> StockNotetype {
    StockNotetype {
        name: "Basic (optional reversed card)",
        config: config(
            NotetypeKind::Normal,
            BASIC_CSS.into(),
            vec![
                req(0, CardRequirementKind::Any, &[0]),
                req(1, CardRequirementKind::All, &[1, 2]),
            ],
            OriginalStockKind::BasicOptionalReversed,
        ),
        fields: vec![field("Front"), field("Back"), field("Add Reverse")],
        templates: vec![
            template("Card 1", "{{Front}}", FRONT_BACK_AFMT),
            template(
                "Card 2",
                "{{#Add Reverse}}{{Back}}{{/Add Reverse}}",
                BACK_FRONT_AFMT,
            ),
        ],
    }
}

fn basic_typing() -> StockNotetype {
    StockNotetype {
        name: "Basic (type in the answer)",
        config: config(
            NotetypeKind::Normal,
            BASIC_CSS.into(),
            vec![req(0, CardRequirementKind::Any, &[0, 1])],
            OriginalStockKind::BasicTyping,
        ),
        fields: vec![field("Front"), field("Back")],
        templates: vec![template(
            "Card 1",
            "{{Front}}\n\n{{type:Back}}",
            "{{Front}}\n\n<hr id=answer>\n\n{{type:Back}}",
        )],
    }
}

fn cloze() -> StockNotetype {
    StockNotetype {
        name: "Cloze",
        config: config(
            NotetypeKind::Cloze,
            format!("{BASIC_CSS}{CLOZE_EXTRA_CSS}"),
            vec![req(0, CardRequirementKind::Any, &[0])],
            OriginalStockKind::Cloze,
        ),
        fields: vec![
            tagged_field("Text", 0, true),
            tagged_field("Back Extra", 1, false),
        ],
        templates: vec![template(
            "Cloze",
            "{{cloze:Text}}",
            "{{cloze:Text}}<br>\n{{Back Extra}}",
        )],
    }
}

fn image_occlusion() -> StockNotetype {
    StockNotetype {
        name: "Image Occlusion",
        config: config(
            NotetypeKind::Cloze,
            IMAGE_OCCLUSION_CSS.into(),
            vec![req(0, CardRequirementKind::Any, &[0, 1, 2])],
            OriginalStockKind::ImageOcclusion,
        ),
        fields: vec![
            tagged_field("Occlusion", 0, true),
            tagged_field("Image", 1, true),
            tagged_field("Header", 2, true),
            tagged_field("Back Extra", 3, true),
            tagged_field("Comments", 4, false),
        ],
        templates: vec![template(
            "Image Occlusion",
            IMAGE_OCCLUSION_QFMT,
            &format!("{IMAGE_OCCLUSION_QFMT}{IMAGE_OCCLUSION_BACK_EXTRA}"),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_stock_notetypes_in_official_order() {
        let names: Vec<_> = stock_notetypes().iter().map(|n| n.name).collect();
        assert_eq!(
            names,
            [
                "Basic",
                "Basic (and reversed card)",
                "Basic (optional reversed card)",
                "Basic (type in the answer)",
                "Cloze",
                "Image Occlusion",
            ]
        );
        assert_eq!(names[0], DEFAULT_NOTETYPE_NAME);
    }

    #[test]
    fn stock_kinds_and_cloze_flags() {
        let nts = stock_notetypes();
        let kinds: Vec<_> = nts.iter().map(|n| n.config.original_stock_kind).collect();
        assert_eq!(kinds, [1, 2, 3, 4, 5, 6]);
        let cloze: Vec<_> = nts
            .iter()
            .map(|n| n.config.kind == NotetypeKind::Cloze as i32)
            .collect();
        assert_eq!(cloze, [false, false, false, false, true, true]);
    }

    #[test]
    fn ids_are_unset_until_assigned() {
        let mut nts = stock_notetypes();
        assert!(nts
            .iter()
            .flat_map(|n| n.fields.iter().map(|f| f.config.id))
            .all(|id| id.is_none()));
        let mut n = 0;
        nts[2].assign_ids(|| {
            n += 1;
            n
        });
        let ids: Vec<_> = nts[2].fields.iter().map(|f| f.config.id).collect();
        assert_eq!(ids, [Some(1), Some(2), Some(3)]);
        let ids: Vec<_> = nts[2].templates.iter().map(|t| t.config.id).collect();
        assert_eq!(ids, [Some(4), Some(5)]);
    }

    #[test]
    fn image_occlusion_back_extends_front() {
        let io = image_occlusion();
        let t = &io.templates[0].config;
        assert!(t.a_format.starts_with(&t.q_format));
        assert!(t
            .a_format
            .ends_with("{{#Back Extra}}<div>{{Back Extra}}</div>{{/Back Extra}}\n"));
    }
}
