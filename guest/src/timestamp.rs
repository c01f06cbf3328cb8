//! RFC 3339 timestamps as Dixa writes them, without a date-time library.
//!
//! Dixa accepts and returns ISO 8601 instants with an offset, sometimes followed
//! by a zone name in brackets: `2021-12-01T12:46:36.581Z[GMT]`.

/// Splits `2021-12-01T12:46:36.581Z[GMT]` into the RFC 3339 part and the zone name.
fn split_zone_name(value: &str) -> (&str, Option<&str>) {
    match value
        .strip_suffix(']')
        .and_then(|rest| rest.rsplit_once('['))
    {
        Some((instant, zone)) => (instant, Some(zone)),
        None => (value, None),
    }
}

/// The RFC 3339 part of a Dixa timestamp: the bracketed zone name, if any, dropped.
pub fn without_zone_name(value: &str) -> &str {
    split_zone_name(value).0
}

/// Checks a timestamp: RFC 3339 with an offset, optionally followed by `[Zone]`.
pub fn check(value: &str) -> Result<(), String> {
    let (instant, zone) = split_zone_name(value);
    if let Some(zone) = zone {
        let valid_zone = !zone.is_empty()
            && zone
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b));
        if !valid_zone {
            return Err(format!("invalid zone name [{zone}]"));
        }
    }
    check_rfc3339(instant.as_bytes())
}

const EXPECTED: &str =
    "expected an RFC 3339 date-time with an offset, like 2021-12-01T12:46:36.581Z";

fn check_rfc3339(s: &[u8]) -> Result<(), String> {
    let number = |range| number_in(s, range);
    let separator = |at: usize, allowed: &[u8]| -> Result<(), String> {
        match s.get(at) {
            Some(b) if allowed.contains(b) => Ok(()),
            _ => Err(EXPECTED.into()),
        }
    };

    let year = number(0..4)?;
    separator(4, b"-")?;
    let month = number(5..7)?;
    separator(7, b"-")?;
    let day = number(8..10)?;
    separator(10, b"Tt")?;
    let hour = number(11..13)?;
    separator(13, b":")?;
    let minute = number(14..16)?;
    separator(16, b":")?;
    let second = number(17..19)?;

    if !(1..=12).contains(&month) {
        return Err(format!("month {month:02} is out of range"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(format!(
            "day {day:02} does not exist in {year:04}-{month:02}"
        ));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(format!(
            "time {hour:02}:{minute:02}:{second:02} is out of range"
        ));
    }

    let mut rest = s.get(19..).unwrap_or_default();
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(EXPECTED.into());
        }
        rest = fraction.get(digits..).unwrap_or_default();
    }
    match rest {
        b"Z" | b"z" => Ok(()),
        [b'+' | b'-', offset @ ..] if offset.len() == 5 => {
            let hours = number_in(offset, 0..2)?;
            let minutes = number_in(offset, 3..5)?;
            if offset.get(2) != Some(&b':') || hours > 23 || minutes > 59 {
                return Err(EXPECTED.into());
            }
            Ok(())
        }
        [] => Err("missing offset: end with Z or ±hh:mm".into()),
        _ => Err(EXPECTED.into()),
    }
}

/// The decimal number in `s[range]`, which must be all ASCII digits.
fn number_in(s: &[u8], range: std::ops::Range<usize>) -> Result<u32, String> {
    let digits = s.get(range).ok_or(EXPECTED)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(EXPECTED.into());
    }
    Ok(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc3339_and_dixas_bracketed_zone() {
        for ok in [
            "2021-12-01T12:46:36.581Z[GMT]",
            "2021-12-01T12:46:36.581Z",
            "2021-12-01T12:46:36Z",
            "2021-12-01t12:46:36z",
            "2021-12-01T12:46:36+01:00",
            "2021-12-01T12:46:36.123456789-05:30",
            "2024-02-29T00:00:00Z",
            "2021-12-01T12:46:36+01:00[Europe/Copenhagen]",
            "2016-12-31T23:59:60Z",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_what_is_not_an_instant() {
        let cases = [
            (
                "2021-12-01T12:46:36",
                "missing offset: end with Z or ±hh:mm",
            ),
            ("2021-13-01T12:46:36Z", "month 13 is out of range"),
            ("2023-02-29T12:46:36Z", "day 29 does not exist in 2023-02"),
            ("2021-12-01T24:00:00Z", "time 24:00:00 is out of range"),
            ("2021-12-01 12:46:36Z", EXPECTED),
            ("2021-12-01T12:46:36.Z", EXPECTED),
            ("2021-12-01T12:46:36+0100", EXPECTED),
            ("2021-12-01T12:46:36+01:00junk", EXPECTED),
            ("yesterday", EXPECTED),
            ("", EXPECTED),
            ("２021-12-01T12:46:36Z", EXPECTED),
            ("2021-12-01T12:46:36Z[]", "invalid zone name []"),
            ("2021-12-01T12:46:36Z[G M T]", "invalid zone name [G M T]"),
        ];
        for (value, reason) in cases {
            assert_eq!(check(value), Err(reason.to_string()), "{value}");
        }
    }

    #[test]
    fn zone_name_is_dropped_for_output() {
        assert_eq!(
            without_zone_name("2021-12-01T12:46:36.581Z[GMT]"),
            "2021-12-01T12:46:36.581Z"
        );
        assert_eq!(
            without_zone_name("2021-06-09T08:18:37.284Z"),
            "2021-06-09T08:18:37.284Z"
        );
    }
}
