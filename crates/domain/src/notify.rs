//! Notifications (F31): the events people are told about, what the message says (Chinese
//! first, with the English), the webhook formats of WeCom (企业微信) and DingTalk (钉钉) robots
//! and of a generic JSON receiver with their signatures, and the retry schedule.

use chrono::Duration;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use utoipa::ToSchema;

/// What happened.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A hand-off waits for its receiver.
    HandoffAssigned,
    /// A hand-off's time ran out.
    HandoffOverdue,
    /// A review round asks a department to answer.
    ReviewRequested,
    /// A complaint or feedback was registered.
    ComplaintRegistered,
    /// A complaint step's time ran out.
    ComplaintOverdue,
    /// An early warning was raised.
    WarningRaised,
    /// A customer answered a satisfaction survey.
    SurveyAnswered,
    /// Record events for other systems (ERP, MES), sent to webhooks only: a requirement was
    /// collected,
    RequirementCreated,
    /// moved to another stage,
    RequirementStageChanged,
    /// or closed.
    RequirementClosed,
}

impl Event {
    pub const ALL: [Event; 10] = [
        Event::HandoffAssigned,
        Event::HandoffOverdue,
        Event::ReviewRequested,
        Event::ComplaintRegistered,
        Event::ComplaintOverdue,
        Event::WarningRaised,
        Event::SurveyAnswered,
        Event::RequirementCreated,
        Event::RequirementStageChanged,
        Event::RequirementClosed,
    ];

    /// The events people hear of (inbox, e-mail); the others go to webhooks only.
    pub const PERSONAL: [Event; 7] = [
        Event::HandoffAssigned,
        Event::HandoffOverdue,
        Event::ReviewRequested,
        Event::ComplaintRegistered,
        Event::ComplaintOverdue,
        Event::WarningRaised,
        Event::SurveyAnswered,
    ];

    pub fn personal(self) -> bool {
        Event::PERSONAL.contains(&self)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Event::HandoffAssigned => "handoff_assigned",
            Event::HandoffOverdue => "handoff_overdue",
            Event::ReviewRequested => "review_requested",
            Event::ComplaintRegistered => "complaint_registered",
            Event::ComplaintOverdue => "complaint_overdue",
            Event::WarningRaised => "warning_raised",
            Event::SurveyAnswered => "survey_answered",
            Event::RequirementCreated => "requirement_created",
            Event::RequirementStageChanged => "requirement_stage_changed",
            Event::RequirementClosed => "requirement_closed",
        }
    }

    pub fn parse(s: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The message's lead, Chinese and English.
    pub fn headline(self) -> (&'static str, &'static str) {
        match self {
            Event::HandoffAssigned => ("工位传递待接收", "Hand-off assigned"),
            Event::HandoffOverdue => ("工位传递已超时", "Hand-off overdue"),
            Event::ReviewRequested => ("需求评审待答复", "Review requested"),
            Event::ComplaintRegistered => ("新投诉已登记", "Complaint registered"),
            Event::ComplaintOverdue => ("投诉处理已超时", "Complaint overdue"),
            Event::WarningRaised => ("预警已发出", "Warning raised"),
            Event::SurveyAnswered => ("客户已答复满意度调查", "Survey answered"),
            Event::RequirementCreated => ("需求已创建", "Requirement created"),
            Event::RequirementStageChanged => ("需求阶段已变更", "Requirement stage changed"),
            Event::RequirementClosed => ("需求已关闭", "Requirement closed"),
        }
    }
}

/// One notification: the event about a record, for the people it concerns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub event: Event,
    /// `"requirement"`, `"handoff"`, `"complaint"`, `"warning"`, `"survey_invitation"`, …
    pub record_type: String,
    pub record_id: i64,
    /// What it is about (a code and title, a customer), as stored.
    pub subject: String,
    /// The page to open, relative to the server (`/handoffs/12`).
    pub link: String,
    /// What other systems need beyond the title (a stage move's `from_stage` and `to_stage`);
    /// `null` for none.
    #[serde(default)]
    pub data: Value,
}

impl Message {
    /// `工位传递待接收：XQ2026-00025 首批交期` and its English.
    pub fn title(&self) -> (String, String) {
        let (zh, en) = self.event.headline();
        (
            format!("{zh}：{}", self.subject),
            format!("{en}: {}", self.subject),
        )
    }

    /// The plain-text body of an e-mail; `base` is the server's address for the link.
    pub fn email_body(&self, base: &str) -> String {
        let (zh, en) = self.title();
        format!(
            "{zh}\n{en}\n\n{base}{}\n\n— ReqLoop 客户需求闭环管理系统（自动发送，请勿回复 / sent automatically）\n",
            self.link
        )
    }
}

/// Where a webhook delivers and in which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// 企业微信群机器人: markdown message; the key is part of the URL, no signature.
    Wecom,
    /// 钉钉自定义机器人: markdown message; with a secret, `timestamp` and `sign` in the URL.
    Dingtalk,
    /// Any system: the message as JSON; with a secret, `X-ReqLoop-Signature: sha256=<hex>` of
    /// the body.
    Generic,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Wecom, Format::Dingtalk, Format::Generic];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Wecom => "wecom",
            Format::Dingtalk => "dingtalk",
            Format::Generic => "generic",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// The body a webhook receives for a message.
pub fn webhook_body(format: Format, m: &Message, base: &str, at: &str) -> Value {
    let (zh, en) = m.title();
    let url = format!("{base}{}", m.link);
    match format {
        Format::Wecom => json!({
            "msgtype": "markdown",
            "markdown": {"content": format!("**{zh}**\n{en}\n[查看 / Open]({url})")},
        }),
        Format::Dingtalk => json!({
            "msgtype": "markdown",
            "markdown": {"title": zh, "text": format!("#### {zh}\n{en}\n\n[查看 / Open]({url})")},
        }),
        Format::Generic => json!({
            "event": m.event.as_str(),
            "record_type": m.record_type,
            "record_id": m.record_id,
            "title": zh,
            "title_en": en,
            "link": url,
            "at": at,
            "data": m.data,
        }),
    }
}

/// DingTalk's signature: base64 of HMAC-SHA256 over `"{timestamp}\n{secret}"` keyed with the
/// secret, URL-encoded; the timestamp is in milliseconds.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    use base64::Engine;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    form_encode(&sig)
}

/// The generic receiver's signature header value: `sha256=` and the hex HMAC-SHA256 of the
/// body keyed with the secret.
pub fn generic_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 6;

/// How long to wait after the `attempts`-th failed attempt; `None` once it is given up.
pub fn retry_after(attempts: i64) -> Option<Duration> {
    Some(match attempts {
        1 => Duration::minutes(1),
        2 => Duration::minutes(5),
        3 => Duration::minutes(30),
        4 => Duration::hours(2),
        5 => Duration::hours(12),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            event: Event::HandoffAssigned,
            record_type: "handoff".into(),
            record_id: 7,
            subject: "XQ2026-00025 首批交期缩短至30天".into(),
            link: "/handoffs/7".into(),
            data: Value::Null,
        }
    }

    #[test]
    fn events_round_trip() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.as_str()), Some(e));
        }
        assert!(Event::HandoffAssigned.personal() && !Event::RequirementClosed.personal());
        assert_eq!(Event::parse("nope"), None);
    }

    #[test]
    fn titles_are_chinese_first() {
        let (zh, en) = message().title();
        assert_eq!(zh, "工位传递待接收：XQ2026-00025 首批交期缩短至30天");
        assert_eq!(en, "Hand-off assigned: XQ2026-00025 首批交期缩短至30天");
        assert!(message()
            .email_body("http://h")
            .contains("http://h/handoffs/7"));
    }

    #[test]
    fn webhook_formats() {
        let m = message();
        let w = webhook_body(Format::Wecom, &m, "http://h", "t");
        assert_eq!(w["msgtype"], "markdown");
        assert!(w["markdown"]["content"]
            .as_str()
            .unwrap()
            .contains("(http://h/handoffs/7)"));
        let d = webhook_body(Format::Dingtalk, &m, "http://h", "t");
        assert_eq!(
            d["markdown"]["title"],
            "工位传递待接收：XQ2026-00025 首批交期缩短至30天"
        );
        let g = webhook_body(Format::Generic, &m, "http://h", "t");
        assert_eq!(g["event"], "handoff_assigned");
        assert_eq!(g["record_id"], 7);
    }

    #[test]
    fn signatures() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") — RFC 4231 style
        // known answer.
        assert_eq!(
            generic_signature("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        let s = dingtalk_sign("SEC123", 1_700_000_000_000);
        assert!(s.ends_with("%3D"), "base64 padding is URL-encoded: {s}");
        assert!(!s.contains('+') && !s.contains('/'));
    }

    #[test]
    fn retries_back_off_then_give_up() {
        assert_eq!(retry_after(1), Some(Duration::minutes(1)));
        assert!(retry_after(2) < retry_after(3));
        assert_eq!(retry_after(MAX_ATTEMPTS), None);
    }
}
