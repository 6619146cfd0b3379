//! Customer segmentation (F3; 001§3.1(1) "按地理位置、年均送检次数、送检费用、对检验时限的要求等
//! 指标综合筛选", 001§4 the customer pyramid) as a documented rule set rather than a clustering,
//! so that every customer's segment can be explained:
//!
//! - **value**: high when the yearly transaction volume is at or above the median of the
//!   customers with any volume;
//! - **frequency**: high with at least `FREQUENT_ORDERS` orders in the last twelve months
//!   (quarterly or more often);
//! - value × frequency gives the segment — core (high, high), big-ticket (high, low), active
//!   (low, high), occasional (low, low) — and a customer with neither volume nor orders is
//!   dormant;
//! - **deadline strictness** is marked beside the segment: at least `STRICT_SHARE` of the last
//!   twelve months' requirements urgent, or the tight-deadline risk flag;
//! - **region**: the macro-region of the province (GB/T 2260's first digit).

use serde::Serialize;
use utoipa::ToSchema;

use crate::region;

/// Orders a year from which a customer counts as frequent.
pub const FREQUENT_ORDERS: i64 = 4;
/// The share of urgent requirements from which a customer counts as deadline-strict.
pub const STRICT_SHARE: f64 = 0.3;

closed_set!(
    Segment {
        Core => "core",
        BigTicket => "big_ticket",
        Active => "active",
        Occasional => "occasional",
        Dormant => "dormant",
    }
);

closed_set!(
    /// China's macro-regions (大区) by the first digit of the GB/T 2260 province code.
    MacroRegion {
        North => "north",
        Northeast => "northeast",
        East => "east",
        Central => "central",
        South => "south",
        Southwest => "southwest",
        Northwest => "northwest",
        HkMoTw => "hk_mo_tw",
        Unknown => "unknown",
    }
);

/// The macro-region of a province (official name); `Unknown` when none is recorded.
pub fn macro_region(province: &str) -> MacroRegion {
    let Some((_, code, _)) = region::province(province) else {
        return MacroRegion::Unknown;
    };
    match code {
        "41" | "42" | "43" => MacroRegion::Central,
        "44" | "45" | "46" => MacroRegion::South,
        _ => match code.as_bytes().first() {
            Some(b'1') => MacroRegion::North,
            Some(b'2') => MacroRegion::Northeast,
            Some(b'3') => MacroRegion::East,
            Some(b'5') => MacroRegion::Southwest,
            Some(b'6') => MacroRegion::Northwest,
            Some(b'7' | b'8') => MacroRegion::HkMoTw,
            _ => MacroRegion::Unknown,
        },
    }
}

/// What the rules read of one customer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Facts {
    /// Yearly transaction volume (yuan).
    pub volume: i64,
    /// Orders in the last twelve months.
    pub orders: i64,
    /// Requirements in the last twelve months, and how many of them urgent.
    pub requirements: i64,
    pub urgent: i64,
    /// The tight-deadline risk flag is set.
    pub tight_flag: bool,
}

/// One customer's place: its segment and whether it is deadline-strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Placed {
    pub segment: Segment,
    pub strict: bool,
}

/// The median of the positive volumes (the value threshold); 0 when none.
pub fn value_threshold(volumes: impl Iterator<Item = i64>) -> i64 {
    let mut v: Vec<i64> = volumes.filter(|v| *v > 0).collect();
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[(v.len() - 1) / 2]
}

pub fn place(f: &Facts, value_threshold: i64) -> Placed {
    let strict = f.tight_flag
        || (f.requirements > 0 && f.urgent as f64 / f.requirements as f64 >= STRICT_SHARE);
    let high_value = f.volume > 0 && f.volume >= value_threshold;
    let frequent = f.orders >= FREQUENT_ORDERS;
    let segment = match (high_value, frequent) {
        _ if f.volume <= 0 && f.orders == 0 => Segment::Dormant,
        (true, true) => Segment::Core,
        (true, false) => Segment::BigTicket,
        (false, true) => Segment::Active,
        (false, false) => Segment::Occasional,
    };
    Placed { segment, strict }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(volume: i64, orders: i64, requirements: i64, urgent: i64) -> Facts {
        Facts {
            volume,
            orders,
            requirements,
            urgent,
            tight_flag: false,
        }
    }

    #[test]
    fn value_and_frequency_give_the_segment() {
        let t = 1000;
        assert_eq!(place(&facts(1000, 4, 0, 0), t).segment, Segment::Core);
        assert_eq!(place(&facts(5000, 1, 0, 0), t).segment, Segment::BigTicket);
        assert_eq!(place(&facts(10, 12, 0, 0), t).segment, Segment::Active);
        assert_eq!(place(&facts(999, 3, 0, 0), t).segment, Segment::Occasional);
        assert_eq!(place(&facts(0, 0, 5, 0), t).segment, Segment::Dormant);
        assert_eq!(
            place(&facts(0, 5, 0, 0), t).segment,
            Segment::Active,
            "orders without recorded volume are still activity"
        );
    }

    #[test]
    fn urgent_requirements_or_the_flag_make_a_customer_strict() {
        assert!(place(&facts(1, 0, 10, 3), 1).strict, "30% urgent");
        assert!(!place(&facts(1, 0, 10, 2), 1).strict);
        assert!(!place(&facts(1, 0, 0, 0), 1).strict, "no requirements");
        let flagged = Facts {
            tight_flag: true,
            ..facts(1, 0, 0, 0)
        };
        assert!(place(&flagged, 1).strict);
    }

    #[test]
    fn the_value_threshold_is_the_median_of_positive_volumes() {
        assert_eq!(value_threshold([0, 5, 1, 3, 0].into_iter()), 3);
        assert_eq!(value_threshold([4, 2].into_iter()), 2);
        assert_eq!(value_threshold([0, 0].into_iter()), 0);
    }

    #[test]
    fn provinces_fall_into_macro_regions() {
        assert_eq!(macro_region("北京市"), MacroRegion::North);
        assert_eq!(macro_region("辽宁省"), MacroRegion::Northeast);
        assert_eq!(macro_region("浙江省"), MacroRegion::East);
        assert_eq!(macro_region("湖南省"), MacroRegion::Central);
        assert_eq!(macro_region("广东省"), MacroRegion::South);
        assert_eq!(macro_region("四川省"), MacroRegion::Southwest);
        assert_eq!(macro_region("陕西省"), MacroRegion::Northwest);
        assert_eq!(macro_region("香港特别行政区"), MacroRegion::HkMoTw);
        assert_eq!(macro_region(""), MacroRegion::Unknown);
        for (name, _, _) in region::PROVINCES {
            assert_ne!(macro_region(name), MacroRegion::Unknown, "{name}");
        }
    }
}
