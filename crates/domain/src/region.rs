//! China's province-level divisions (GB/T 2260), used to validate a customer's region and to
//! build customer codes.

/// (official name, GB/T 2260 code, Latin abbreviation)
pub const PROVINCES: &[(&str, &str, &str)] = &[
    ("北京市", "11", "BJ"),
    ("天津市", "12", "TJ"),
    ("河北省", "13", "HE"),
    ("山西省", "14", "SX"),
    ("内蒙古自治区", "15", "NM"),
    ("辽宁省", "21", "LN"),
    ("吉林省", "22", "JL"),
    ("黑龙江省", "23", "HL"),
    ("上海市", "31", "SH"),
    ("江苏省", "32", "JS"),
    ("浙江省", "33", "ZJ"),
    ("安徽省", "34", "AH"),
    ("福建省", "35", "FJ"),
    ("江西省", "36", "JX"),
    ("山东省", "37", "SD"),
    ("河南省", "41", "HA"),
    ("湖北省", "42", "HB"),
    ("湖南省", "43", "HN"),
    ("广东省", "44", "GD"),
    ("广西壮族自治区", "45", "GX"),
    ("海南省", "46", "HI"),
    ("重庆市", "50", "CQ"),
    ("四川省", "51", "SC"),
    ("贵州省", "52", "GZ"),
    ("云南省", "53", "YN"),
    ("西藏自治区", "54", "XZ"),
    ("陕西省", "61", "SN"),
    ("甘肃省", "62", "GS"),
    ("青海省", "63", "QH"),
    ("宁夏回族自治区", "64", "NX"),
    ("新疆维吾尔自治区", "65", "XJ"),
    ("台湾省", "71", "TW"),
    ("香港特别行政区", "81", "HK"),
    ("澳门特别行政区", "82", "MO"),
];

/// The province entry for an official name.
pub fn province(name: &str) -> Option<(&'static str, &'static str, &'static str)> {
    PROVINCES.iter().copied().find(|p| p.0 == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_abbreviations_are_unique() {
        let mut codes: Vec<_> = PROVINCES.iter().map(|p| p.1).collect();
        let mut abbrs: Vec<_> = PROVINCES.iter().map(|p| p.2).collect();
        codes.sort();
        codes.dedup();
        abbrs.sort();
        abbrs.dedup();
        assert_eq!(codes.len(), PROVINCES.len());
        assert_eq!(abbrs.len(), PROVINCES.len());
        assert_eq!(province("江苏省").map(|p| p.2), Some("JS"));
        assert_eq!(province("江苏"), None);
    }
}
