//! Field-level validation: each problem names the field and a message key (translated at the edge).

use serde::Serialize;
use utoipa::ToSchema;

/// A value outside a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownValue;

/// One problem with one field. `code` is an i18n key suffix: `err.<code>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
}

/// Collects field errors; `finish` turns them into a result.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, code: &'static str) {
        self.0.push(FieldError {
            field: field.into(),
            code,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn finish(self) -> Result<(), FieldErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// The first error for a field, for showing next to it in a form.
    pub fn for_field(&self, field: &str) -> Option<&'static str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.code)
    }

    /// Required text: trimmed, non-empty, at most `max` characters.
    pub fn required(&mut self, field: &str, value: &mut String, max: usize) {
        trim_in_place(value);
        if value.is_empty() {
            self.add(field, "required");
        } else if value.chars().count() > max {
            self.add(field, "too_long");
        }
    }

    /// Optional text: trimmed, at most `max` characters (empty is fine).
    pub fn optional(&mut self, field: &str, value: &mut String, max: usize) {
        trim_in_place(value);
        if value.chars().count() > max {
            self.add(field, "too_long");
        }
    }

    /// A telephone number (landline or mobile): digits with `+ - ( )` and spaces, 5 to 20 digits.
    pub fn phone(&mut self, field: &str, value: &mut String) {
        trim_in_place(value);
        if !value.is_empty() && !is_phone(value) {
            self.add(field, "phone");
        }
    }

    /// An e-mail address of the form `local@domain.tld`.
    pub fn email(&mut self, field: &str, value: &mut String) {
        trim_in_place(value);
        if !value.is_empty() && !is_email(value) {
            self.add(field, "email");
        }
    }
}

fn trim_in_place(s: &mut String) {
    let t = s.trim();
    if t.len() != s.len() {
        *s = t.to_string();
    }
}

pub fn is_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    s.len() <= 30
        && (5..=20).contains(&digits)
        && s.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c))
}

pub fn is_email(s: &str) -> bool {
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '-'))
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`) in a patch.
pub(crate) fn double_option<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_of_chinese_offices_and_mobiles_pass() {
        for p in [
            "0519-86881234",
            "13800138000",
            "+86 138 0013 8000",
            "(021) 6888 1234",
        ] {
            assert!(is_phone(p), "{p}");
        }
        for p in ["abc", "123", "0519-8688-1234-5678-9999-0000", "138<script>"] {
            assert!(!is_phone(p), "{p}");
        }
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(is_email("wang.li@hengyuan-rail.com.cn"));
        assert!(is_email("采购@恒远.中国"));
        for e in ["", "a@", "@b.cn", "a@b", "a b@c.cn", "a@b..cn", "a@@b.cn"] {
            assert!(!is_email(e), "{e}");
        }
    }

    #[test]
    fn required_text_is_trimmed_and_bounded() {
        let mut errs = FieldErrors::default();
        let mut v = "  恒远  ".to_string();
        errs.required("name", &mut v, 2);
        assert_eq!(v, "恒远");
        assert!(errs.is_empty());
        let mut long = "一二三".to_string();
        errs.required("name", &mut long, 2);
        let mut empty = "   ".to_string();
        errs.required("short", &mut empty, 2);
        assert_eq!(errs.for_field("name"), Some("too_long"));
        assert_eq!(errs.for_field("short"), Some("required"));
    }
}
