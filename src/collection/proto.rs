//! Protobuf messages stored in the blob columns of a schema-18 collection.
//!
//! Hand-written `prost` structs carrying the same field numbers and wire types
//! as the messages the official Anki code stores (see
//! `docs/sync-protocol.md` §7.4–§7.6 and §10.2). Field numbers are part of the
//! file format and must never change. Every config message keeps unknown legacy
//! JSON keys in `other` (field 255) as a JSON object, or empty bytes.
//!
//! | column               | message              |
//! |----------------------|----------------------|
//! | `notetypes.config`   | [`NotetypeConfig`]   |
//! | `fields.config`      | [`FieldConfig`]      |
//! | `templates.config`   | [`TemplateConfig`]   |
//! | `decks.common`       | [`DeckCommon`]       |
//! | `decks.kind`         | [`DeckKindContainer`]|
//! | `deck_config.config` | [`DeckConfigConfig`] |

// ---------------------------------------------------------------------------
// Notetypes
// ---------------------------------------------------------------------------

/// `Notetype.Config`: the `notetypes.config` blob.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NotetypeConfig {
    /// Standard or cloze notetype (JSON `type`).
    #[prost(enumeration = "NotetypeKind", tag = "1")]
    pub kind: i32,
    /// Index of the field used for sorting in the browser (JSON `sortf`).
    #[prost(uint32, tag = "2")]
    pub sort_field_idx: u32,
    /// Card styling shared by all templates (JSON `css`).
    #[prost(string, tag = "3")]
    pub css: String,
    /// Legacy "last used deck" of the notetype; 0 means none (JSON `did`).
    #[prost(int64, tag = "4")]
    pub target_deck_id_unused: i64,
    /// LaTeX preamble (JSON `latexPre`).
    #[prost(string, tag = "5")]
    pub latex_pre: String,
    /// LaTeX postamble (JSON `latexPost`).
    #[prost(string, tag = "6")]
    pub latex_post: String,
    /// Render LaTeX as SVG instead of PNG (JSON `latexsvg`).
    #[prost(bool, tag = "7")]
    pub latex_svg: bool,
    /// Which fields each template needs to produce a card (JSON `req`).
    #[prost(message, repeated, tag = "8")]
    pub reqs: Vec<CardRequirement>,
    /// The stock notetype this one was created from (JSON `originalStockKind`).
    #[prost(enumeration = "OriginalStockKind", tag = "9")]
    pub original_stock_kind: i32,
    /// Id of the notetype this one was copied from, if any (JSON `originalId`).
    #[prost(int64, optional, tag = "10")]
    pub original_id: Option<i64>,
    /// JSON object of unknown legacy keys, or empty.
    #[prost(bytes = "vec", tag = "255")]
    pub other: Vec<u8>,
}

/// `Notetype.Config.Kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum NotetypeKind {
    /// A standard notetype: one card per template.
    Normal = 0,
    /// A cloze notetype: one card per cloze number.
    Cloze = 1,
}

/// `Notetype.Config.CardRequirement`: one element of `req`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CardRequirement {
    /// Template ordinal the requirement applies to.
    #[prost(uint32, tag = "1")]
    pub card_ord: u32,
    /// How `field_ords` is evaluated.
    #[prost(enumeration = "CardRequirementKind", tag = "2")]
    pub kind: i32,
    /// Ordinals of the fields that are checked.
    #[prost(uint32, repeated, tag = "3")]
    pub field_ords: Vec<u32>,
}

/// `Notetype.Config.CardRequirement.Kind` (note: not the JSON string order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum CardRequirementKind {
    /// JSON `"none"`: the template never produces a card.
    None = 0,
    /// JSON `"any"`: a card if any listed field is non-empty.
    Any = 1,
    /// JSON `"all"`: a card if all listed fields are non-empty.
    All = 2,
}

/// `StockNotetype.OriginalStockKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum OriginalStockKind {
    /// Not created from a stock notetype (or unknown).
    Unknown = 0,
    /// "Basic".
    Basic = 1,
    /// "Basic (and reversed card)".
    BasicAndReversed = 2,
    /// "Basic (optional reversed card)".
    BasicOptionalReversed = 3,
    /// "Basic (type in the answer)".
    BasicTyping = 4,
    /// "Cloze".
    Cloze = 5,
    /// "Image Occlusion".
    ImageOcclusion = 6,
}

/// `Notetype.Field.Config`: the `fields.config` blob.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FieldConfig {
    /// Keep the field's content when adding the next note (JSON `sticky`).
    #[prost(bool, tag = "1")]
    pub sticky: bool,
    /// Right-to-left text direction in the editor (JSON `rtl`).
    #[prost(bool, tag = "2")]
    pub rtl: bool,
    /// Editor font (JSON `font`).
    #[prost(string, tag = "3")]
    pub font_name: String,
    /// Editor font size (JSON `size`).
    #[prost(uint32, tag = "4")]
    pub font_size: u32,
    /// Description shown in the editor (JSON `description`).
    #[prost(string, tag = "5")]
    pub description: String,
    /// Edit as plain text by default (JSON `plainText`).
    #[prost(bool, tag = "6")]
    pub plain_text: bool,
    /// Field collapsed in the editor (JSON `collapsed`).
    #[prost(bool, tag = "7")]
    pub collapsed: bool,
    /// Exclude the field from unqualified searches (JSON `excludeFromSearch`).
    #[prost(bool, tag = "8")]
    pub exclude_from_search: bool,
    /// Random stable identifier of the field (JSON `id`).
    #[prost(int64, optional, tag = "9")]
    pub id: Option<i64>,
    /// Role tag used by special notetypes such as Image Occlusion (JSON `tag`).
    #[prost(uint32, optional, tag = "10")]
    pub tag: Option<u32>,
    /// The field cannot be removed in the field editor (JSON `preventDeletion`).
    #[prost(bool, tag = "11")]
    pub prevent_deletion: bool,
    /// JSON object of unknown legacy keys, or empty.
    #[prost(bytes = "vec", tag = "255")]
    pub other: Vec<u8>,
}

/// `Notetype.Template.Config`: the `templates.config` blob.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TemplateConfig {
    /// Front template (JSON `qfmt`).
    #[prost(string, tag = "1")]
    pub q_format: String,
    /// Back template (JSON `afmt`).
    #[prost(string, tag = "2")]
    pub a_format: String,
    /// Front template used in the browser (JSON `bqfmt`).
    #[prost(string, tag = "3")]
    pub q_format_browser: String,
    /// Back template used in the browser (JSON `bafmt`).
    #[prost(string, tag = "4")]
    pub a_format_browser: String,
    /// Deck override for new cards; 0 means none (JSON `did`).
    #[prost(int64, tag = "5")]
    pub target_deck_id: i64,
    /// Browser font (JSON `bfont`).
    #[prost(string, tag = "6")]
    pub browser_font_name: String,
    /// Browser font size (JSON `bsize`).
    #[prost(uint32, tag = "7")]
    pub browser_font_size: u32,
    /// Random stable identifier of the template (JSON `id`).
    #[prost(int64, optional, tag = "8")]
    pub id: Option<i64>,
    /// JSON object of unknown legacy keys, or empty.
    #[prost(bytes = "vec", tag = "255")]
    pub other: Vec<u8>,
}

// ---------------------------------------------------------------------------
// Decks
// ---------------------------------------------------------------------------

/// `Deck.Common`: the `decks.common` blob.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeckCommon {
    /// Collapsed in the deck list (JSON `collapsed`).
    #[prost(bool, tag = "1")]
    pub study_collapsed: bool,
    /// Collapsed in the browser sidebar (JSON `browserCollapsed`).
    #[prost(bool, tag = "2")]
    pub browser_collapsed: bool,
    /// Day (days since `crt`) the `*_studied` counters refer to.
    #[prost(uint32, tag = "3")]
    pub last_day_studied: u32,
    /// New cards studied on `last_day_studied` (JSON `newToday`).
    #[prost(int32, tag = "4")]
    pub new_studied: i32,
    /// Reviews done on `last_day_studied` (JSON `revToday`).
    #[prost(int32, tag = "5")]
    pub review_studied: i32,
    /// Learning cards studied on `last_day_studied` (JSON `lrnToday`).
    #[prost(int32, tag = "6")]
    pub learning_studied: i32,
    /// Study time on `last_day_studied`, ms (JSON `timeToday`).
    #[prost(int32, tag = "7")]
    pub milliseconds_studied: i32,
    /// JSON object of unknown legacy keys, or empty.
    #[prost(bytes = "vec", tag = "255")]
    pub other: Vec<u8>,
}

/// `Deck.KindContainer`: the `decks.kind` blob.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeckKindContainer {
    /// Normal or filtered deck (JSON `dyn`).
    #[prost(oneof = "DeckKind", tags = "1, 2")]
    pub kind: Option<DeckKind>,
}

/// The oneof of [`DeckKindContainer`].
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DeckKind {
    /// A normal deck (`dyn` = 0).
    #[prost(message, tag = "1")]
    Normal(DeckNormal),
    /// A filtered deck (`dyn` = 1).
    #[prost(message, tag = "2")]
    Filtered(DeckFiltered),
}

/// `Deck.Normal`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeckNormal {
    /// Deck config (options group) id (JSON `conf`).
    #[prost(int64, tag = "1")]
    pub config_id: i64,
    /// Extra new cards allowed today (JSON `extendNew`).
    #[prost(uint32, tag = "2")]
    pub extend_new: u32,
    /// Extra reviews allowed today (JSON `extendRev`).
    #[prost(uint32, tag = "3")]
    pub extend_review: u32,
    /// Deck description (JSON `desc`).
    #[prost(string, tag = "4")]
    pub description: String,
    /// The description is Markdown (JSON `md`).
    #[prost(bool, tag = "5")]
    pub markdown_description: bool,
    /// Deck-specific review limit (JSON `reviewLimit`).
    #[prost(uint32, optional, tag = "6")]
    pub review_limit: Option<u32>,
    /// Deck-specific new card limit (JSON `newLimit`).
    #[prost(uint32, optional, tag = "7")]
    pub new_limit: Option<u32>,
    /// Review limit override for one day (JSON `reviewLimitToday`).
    #[prost(message, optional, tag = "8")]
    pub review_limit_today: Option<DayLimit>,
    /// New card limit override for one day (JSON `newLimitToday`).
    #[prost(message, optional, tag = "9")]
    pub new_limit_today: Option<DayLimit>,
    /// Deck-specific desired retention, a fraction (JSON `desiredRetention`, percent).
    #[prost(float, optional, tag = "10")]
    pub desired_retention: Option<f32>,
}

/// `Deck.Normal.DayLimit`: a limit valid on one day only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DayLimit {
    /// The limit.
    #[prost(uint32, tag = "1")]
    pub limit: u32,
    /// The day (days since `crt`) it applies to.
    #[prost(uint32, tag = "2")]
    pub today: u32,
}

/// `Deck.Filtered`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeckFiltered {
    /// Reschedule cards based on answers (JSON `resched`).
    #[prost(bool, tag = "1")]
    pub reschedule: bool,
    /// The searches that fill the deck (JSON `terms`).
    #[prost(message, repeated, tag = "2")]
    pub search_terms: Vec<SearchTerm>,
    /// Legacy learning steps in minutes (JSON `delays`).
    #[prost(float, repeated, tag = "3")]
    pub delays: Vec<f32>,
    /// Legacy preview delay, minutes (JSON `previewDelay`).
    #[prost(uint32, tag = "4")]
    pub preview_delay: u32,
    /// Preview delay after "Hard", seconds (JSON `previewHardSecs`).
    #[prost(uint32, tag = "5")]
    pub preview_hard_secs: u32,
    /// Preview delay after "Good", seconds (JSON `previewGoodSecs`).
    #[prost(uint32, tag = "6")]
    pub preview_good_secs: u32,
    /// Preview delay after "Again", seconds (JSON `previewAgainSecs`).
    #[prost(uint32, tag = "7")]
    pub preview_again_secs: u32,
}

/// `Deck.Filtered.SearchTerm`: one element of `terms`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTerm {
    /// The search string.
    #[prost(string, tag = "1")]
    pub search: String,
    /// Maximum number of cards gathered.
    #[prost(uint32, tag = "2")]
    pub limit: u32,
    /// Order in which cards are gathered.
    #[prost(enumeration = "SearchTermOrder", tag = "3")]
    pub order: i32,
}

/// `Deck.Filtered.SearchTerm.Order`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SearchTermOrder {
    /// Oldest reviewed first.
    OldestReviewedFirst = 0,
    /// Random.
    Random = 1,
    /// Intervals ascending.
    IntervalsAscending = 2,
    /// Intervals descending.
    IntervalsDescending = 3,
    /// Most lapses.
    Lapses = 4,
    /// Order added.
    Added = 5,
    /// Order due.
    Due = 6,
    /// Latest added first.
    ReverseAdded = 7,
    /// Retrievability ascending.
    RetrievabilityAscending = 8,
    /// Retrievability descending.
    RetrievabilityDescending = 9,
    /// Relative overdueness.
    RelativeOverdueness = 10,
}

// ---------------------------------------------------------------------------
// Deck config
// ---------------------------------------------------------------------------

/// `DeckConfig.Config`: the `deck_config.config` blob. Fields 7, 8 and 39 are
/// reserved.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeckConfigConfig {
    /// Learning steps in minutes (JSON `new.delays`).
    #[prost(float, repeated, tag = "1")]
    pub learn_steps: Vec<f32>,
    /// Relearning steps in minutes (JSON `lapse.delays`).
    #[prost(float, repeated, tag = "2")]
    pub relearn_steps: Vec<f32>,
    /// FSRS 4 parameters (JSON `fsrsWeights`).
    #[prost(float, repeated, tag = "3")]
    pub fsrs_params_4: Vec<f32>,
    /// Per-weekday workload fractions, 1.0 = 100 % (JSON `easyDaysPercentages`).
    #[prost(float, repeated, tag = "4")]
    pub easy_days_percentages: Vec<f32>,
    /// FSRS 5 parameters (JSON `fsrsParams5`).
    #[prost(float, repeated, tag = "5")]
    pub fsrs_params_5: Vec<f32>,
    /// FSRS 6 parameters (JSON `fsrsParams6`).
    #[prost(float, repeated, tag = "6")]
    pub fsrs_params_6: Vec<f32>,
    /// New cards per day (JSON `new.perDay`).
    #[prost(uint32, tag = "9")]
    pub new_per_day: u32,
    /// Reviews per day (JSON `rev.perDay`).
    #[prost(uint32, tag = "10")]
    pub reviews_per_day: u32,
    /// Starting ease as a factor, 2.5 = 250 % (JSON `new.initialFactor` in permille).
    #[prost(float, tag = "11")]
    pub initial_ease: f32,
    /// Easy bonus (JSON `rev.ease4`).
    #[prost(float, tag = "12")]
    pub easy_multiplier: f32,
    /// Hard interval multiplier (JSON `rev.hardFactor`).
    #[prost(float, tag = "13")]
    pub hard_multiplier: f32,
    /// New interval multiplier after a lapse (JSON `lapse.mult`).
    #[prost(float, tag = "14")]
    pub lapse_multiplier: f32,
    /// Interval modifier (JSON `rev.ivlFct`).
    #[prost(float, tag = "15")]
    pub interval_multiplier: f32,
    /// Maximum interval in days (JSON `rev.maxIvl`).
    #[prost(uint32, tag = "16")]
    pub maximum_review_interval: u32,
    /// Minimum interval after a lapse in days (JSON `lapse.minInt`).
    #[prost(uint32, tag = "17")]
    pub minimum_lapse_interval: u32,
    /// Graduating interval in days (JSON `new.ints[0]`).
    #[prost(uint32, tag = "18")]
    pub graduating_interval_good: u32,
    /// Easy interval in days (JSON `new.ints[1]`).
    #[prost(uint32, tag = "19")]
    pub graduating_interval_easy: u32,
    /// Insertion order of new cards (JSON `new.order`, inverted numbering).
    #[prost(enumeration = "NewCardInsertOrder", tag = "20")]
    pub new_card_insert_order: i32,
    /// What to do with leeches (JSON `lapse.leechAction`).
    #[prost(enumeration = "LeechAction", tag = "21")]
    pub leech_action: i32,
    /// Lapses before a card is a leech (JSON `lapse.leechFails`).
    #[prost(uint32, tag = "22")]
    pub leech_threshold: u32,
    /// Do not play audio automatically (JSON `autoplay`, negated).
    #[prost(bool, tag = "23")]
    pub disable_autoplay: bool,
    /// Maximum answer time recorded, seconds (JSON `maxTaken`).
    #[prost(uint32, tag = "24")]
    pub cap_answer_time_to_secs: u32,
    /// Show the answer timer (JSON `timer`).
    #[prost(bool, tag = "25")]
    pub show_timer: bool,
    /// Do not replay question audio with the answer (JSON `replayq`, negated).
    #[prost(bool, tag = "26")]
    pub skip_question_when_replaying_answer: bool,
    /// Bury new siblings (JSON `new.bury`).
    #[prost(bool, tag = "27")]
    pub bury_new: bool,
    /// Bury review siblings (JSON `rev.bury`).
    #[prost(bool, tag = "28")]
    pub bury_reviews: bool,
    /// Bury interday learning siblings (JSON `buryInterdayLearning`).
    #[prost(bool, tag = "29")]
    pub bury_interday_learning: bool,
    /// How new cards mix with reviews (JSON `newMix`).
    #[prost(enumeration = "ReviewMix", tag = "30")]
    pub new_mix: i32,
    /// How interday learning cards mix with reviews (JSON `interdayLearningMix`).
    #[prost(enumeration = "ReviewMix", tag = "31")]
    pub interday_learning_mix: i32,
    /// Sort order of gathered new cards (JSON `newSortOrder`).
    #[prost(enumeration = "NewCardSortOrder", tag = "32")]
    pub new_card_sort_order: i32,
    /// Order of reviews (JSON `reviewOrder`).
    #[prost(enumeration = "ReviewCardOrder", tag = "33")]
    pub review_order: i32,
    /// How new cards are gathered (JSON `newGatherPriority`).
    #[prost(enumeration = "NewCardGatherPriority", tag = "34")]
    pub new_card_gather_priority: i32,
    /// Unused by the app (JSON `newPerDayMinimum`).
    #[prost(uint32, tag = "35")]
    pub new_per_day_minimum: u32,
    /// Action when the question auto-advance timer expires (JSON `questionAction`).
    #[prost(enumeration = "QuestionAction", tag = "36")]
    pub question_action: i32,
    /// FSRS desired retention, a fraction (JSON `desiredRetention`).
    #[prost(float, tag = "37")]
    pub desired_retention: f32,
    /// Stop the timer once the answer is shown (JSON `stopTimerOnAnswer`).
    #[prost(bool, tag = "38")]
    pub stop_timer_on_answer: bool,
    /// Assumed retention of SM-2 history for FSRS (JSON `sm2Retention`).
    #[prost(float, tag = "40")]
    pub historical_retention: f32,
    /// Auto-advance delay on the question side, seconds (JSON `secondsToShowQuestion`).
    #[prost(float, tag = "41")]
    pub seconds_to_show_question: f32,
    /// Auto-advance delay on the answer side, seconds (JSON `secondsToShowAnswer`).
    #[prost(float, tag = "42")]
    pub seconds_to_show_answer: f32,
    /// Action when the answer auto-advance timer expires (JSON `answerAction`).
    #[prost(enumeration = "AnswerAction", tag = "43")]
    pub answer_action: i32,
    /// Auto-advance waits for audio to finish (JSON `waitForAudio`).
    #[prost(bool, tag = "44")]
    pub wait_for_audio: bool,
    /// Search used when optimising FSRS parameters (JSON `weightSearch`).
    #[prost(string, tag = "45")]
    pub param_search: String,
    /// Ignore review history before this date for FSRS (JSON `ignoreRevlogsBeforeDate`).
    #[prost(string, tag = "46")]
    pub ignore_revlogs_before_date: String,
    /// JSON object of unknown legacy keys (top level and `new`/`rev`/`lapse`), or empty.
    #[prost(bytes = "vec", tag = "255")]
    pub other: Vec<u8>,
}

/// `DeckConfig.Config.NewCardInsertOrder` (JSON `new.order` uses the inverse).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum NewCardInsertOrder {
    /// In order added (JSON 1).
    Due = 0,
    /// Random (JSON 0).
    Random = 1,
}

/// `DeckConfig.Config.NewCardGatherPriority`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum NewCardGatherPriority {
    /// Deck.
    Deck = 0,
    /// Ascending position.
    LowestPosition = 1,
    /// Descending position.
    HighestPosition = 2,
    /// Random notes.
    RandomNotes = 3,
    /// Random cards.
    RandomCards = 4,
    /// Deck, then random notes.
    DeckThenRandomNotes = 5,
}

/// `DeckConfig.Config.NewCardSortOrder`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum NewCardSortOrder {
    /// Card template.
    Template = 0,
    /// Gather order, no sorting.
    NoSort = 1,
    /// Card template, then random.
    TemplateThenRandom = 2,
    /// Random note, then card template.
    RandomNoteThenTemplate = 3,
    /// Random card.
    RandomCard = 4,
}

/// `DeckConfig.Config.ReviewCardOrder`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ReviewCardOrder {
    /// Due date, then random.
    Day = 0,
    /// Due date, then deck.
    DayThenDeck = 1,
    /// Deck, then due date.
    DeckThenDay = 2,
    /// Intervals ascending.
    IntervalsAscending = 3,
    /// Intervals descending.
    IntervalsDescending = 4,
    /// Ease ascending.
    EaseAscending = 5,
    /// Ease descending.
    EaseDescending = 6,
    /// Retrievability ascending.
    RetrievabilityAscending = 7,
    /// Random.
    Random = 8,
    /// Order added.
    Added = 9,
    /// Reverse order added.
    ReverseAdded = 10,
    /// Retrievability descending.
    RetrievabilityDescending = 11,
    /// Relative overdueness.
    RelativeOverdueness = 12,
}

/// `DeckConfig.Config.ReviewMix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ReviewMix {
    /// Mix with reviews.
    MixWithReviews = 0,
    /// Show after reviews.
    AfterReviews = 1,
    /// Show before reviews.
    BeforeReviews = 2,
}

/// `DeckConfig.Config.LeechAction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum LeechAction {
    /// Suspend the card.
    Suspend = 0,
    /// Only tag the note.
    TagOnly = 1,
}

/// `DeckConfig.Config.QuestionAction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum QuestionAction {
    /// Show the answer.
    ShowAnswer = 0,
    /// Show a reminder.
    ShowReminder = 1,
}

/// `DeckConfig.Config.AnswerAction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AnswerAction {
    /// Bury the card.
    BuryCard = 0,
    /// Answer "Again".
    AnswerAgain = 1,
    /// Answer "Good".
    AnswerGood = 2,
    /// Answer "Hard".
    AnswerHard = 3,
    /// Show a reminder.
    ShowReminder = 4,
}

#[cfg(test)]
#[path = "proto_tests.rs"]
mod tests;
