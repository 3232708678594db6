// SPDX-License-Identifier: LGPL-2.1-or-later
//! Readers for per-frame metadata as the apps write it
//! (`spec/metadata-formats.md`): rpicam-apps JSON (lenient) and txt,
//! libcamera `cam --metadata` output, and a plain CSV.

use super::{Frame, Recording};

/// The file formats understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `rpicam-vid --metadata FILE --metadata-format json`.
    RpicamJson,
    /// `rpicam-vid --metadata-format txt`.
    RpicamTxt,
    /// `cam --metadata` standard output.
    Cam,
    /// A CSV with a `frame_wall_clock_ns` (or `FrameWallClock`) column.
    Csv,
}

impl Format {
    pub const fn name(self) -> &'static str {
        match self {
            Format::RpicamJson => "rpicam_json",
            Format::RpicamTxt => "rpicam_txt",
            Format::Cam => "cam",
            Format::Csv => "csv",
        }
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error(
        "not a recognised metadata file (rpicam json/txt, cam --metadata, or CSV with a frame_wall_clock_ns column)"
    )]
    Unknown,
    #[error("frame #{frame}: FrameWallClock {value} is not ns since 1970 (0..{MAX_WALL_NS})")]
    WallClock { frame: usize, value: i64 },
}

/// FrameWallClock values are ns since 1970 below this (2^62 ns: the year
/// 2116), so that no difference or sum of two of them overflows.
pub const MAX_WALL_NS: i64 = 1 << 62;

/// Detect the format of `text`.
pub fn detect(text: &str) -> Option<Format> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    if first.starts_with('[') || first.starts_with('{') {
        return Some(Format::RpicamJson);
    }
    if first.contains(" seq: ") && first.contains("fps)") {
        return Some(Format::Cam);
    }
    let is_wall = |f: &str| {
        let f = f.trim().to_ascii_lowercase();
        f == "frame_wall_clock_ns" || f == "framewallclock"
    };
    if first.split(',').any(is_wall) {
        return Some(Format::Csv);
    }
    if first.contains('=') {
        return Some(Format::RpicamTxt);
    }
    None
}

/// Parse a recording of one camera, detecting the format.
pub fn parse(name: &str, text: &str) -> Result<Recording, ParseError> {
    let format = detect(text).ok_or(ParseError::Unknown)?;
    let mut r = Recording {
        name: name.to_string(),
        format,
        frames: Vec::new(),
        warnings: Vec::new(),
    };
    match format {
        Format::RpicamJson => parse_json(text, &mut r)?,
        Format::RpicamTxt => parse_txt(text, &mut r)?,
        Format::Cam => parse_cam(text, &mut r)?,
        Format::Csv => parse_csv(text, &mut r)?,
    }
    if let Some((frame, value)) = r.frames.iter().enumerate().find_map(|(i, f)| {
        f.wall_ns
            .filter(|w| !(0..MAX_WALL_NS).contains(w))
            .map(|w| (i, w))
    }) {
        return Err(ParseError::WallClock { frame, value });
    }
    let missing = r.frames.iter().filter(|f| f.wall_ns.is_none()).count();
    if missing > 0 {
        r.warnings.push(format!(
            "{missing} frame(s) have no FrameWallClock: they are counted but cannot be grouped"
        ));
    }
    Ok(r)
}

/// One control value, as far as the checks need it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(i64),
    Bool(bool),
    Other,
}

fn value_of(raw: &str) -> Value {
    let v = raw.trim().trim_end_matches(',').trim();
    match v {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => v.parse::<i64>().map_or(Value::Other, Value::Int),
    }
}

/// Apply one `name = value` control to a frame.
fn apply(frame: &mut Frame, name: &str, v: &Value) {
    match (name, v) {
        ("FrameWallClock" | "frame_wall_clock_ns", Value::Int(n)) => frame.wall_ns = Some(*n),
        ("SensorTimestamp" | "sensor_timestamp_ns", Value::Int(n)) => {
            frame.sensor_timestamp_ns = Some(*n)
        }
        ("SyncReady" | "sync_ready", Value::Bool(b)) => frame.sync_ready = Some(*b),
        ("SyncReady" | "sync_ready", Value::Int(n)) => frame.sync_ready = Some(*n != 0),
        ("SyncAdjustment" | "sync_adjustment_us", Value::Int(n)) => {
            frame.sync_adjustment_us = Some(*n)
        }
        ("sequence" | "Sequence" | "FrameSequence" | "seq", Value::Int(n)) => {
            frame.sequence = u64::try_from(*n).ok()
        }
        _ => {}
    }
}

/// rpicam JSON: `[`, objects with one `"Name": value` per line, `]`. String
/// values are quoted only if they contain a `/`, so the file may not be
/// valid JSON: read it line by line, accepting unquoted values, and warn.
fn parse_json(text: &str, r: &mut Recording) -> Result<(), ParseError> {
    // Valid JSON of any layout first.
    if let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(text) {
        for item in items {
            let mut f = Frame::default();
            if let serde_json::Value::Object(m) = item {
                for (k, v) in m {
                    let v = match v {
                        serde_json::Value::Bool(b) => Value::Bool(b),
                        serde_json::Value::Number(n) => n.as_i64().map_or(Value::Other, Value::Int),
                        _ => Value::Other,
                    };
                    apply(&mut f, &k, &v);
                }
            }
            r.frames.push(f);
        }
        return Ok(());
    }
    let mut current: Option<Frame> = None;
    let mut unquoted = 0usize;
    let mut first_unquoted = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        let lineno = i + 1;
        if l.is_empty() || l == "[" || l == "]" || l == "," {
            continue;
        }
        // An object may open and close on lines with other text ("}," "{").
        let opens = l.starts_with('{') || l.ends_with('{');
        let closes = l.starts_with('}');
        if closes {
            match current.take() {
                Some(f) => r.frames.push(f),
                None => {
                    return Err(ParseError::Line {
                        line: lineno,
                        reason: "'}' without '{'".into(),
                    });
                }
            }
        }
        if opens {
            if let Some(f) = current.take() {
                // An unterminated object: keep the frame, say so.
                r.warnings
                    .push(format!("line {lineno}: object not closed before '{{'"));
                r.frames.push(f);
            }
            current = Some(Frame::default());
        }
        let body = l.trim_start_matches(['}', ',', '{', '[']).trim();
        if body.is_empty() {
            continue;
        }
        let Some(f) = current.as_mut() else {
            return Err(ParseError::Line {
                line: lineno,
                reason: format!("'{body}' outside an object"),
            });
        };
        let Some((key, raw)) = body.split_once(':') else {
            return Err(ParseError::Line {
                line: lineno,
                reason: format!("expected \"Name\": value, got '{body}'"),
            });
        };
        let key = key.trim().trim_matches('"');
        let raw = raw.trim().trim_end_matches(',').trim();
        let v = value_of(raw);
        let is_quoted = raw.starts_with('"');
        let is_array = raw.starts_with('[');
        if v == Value::Other && !is_quoted && !is_array {
            unquoted += 1;
            first_unquoted.get_or_insert((lineno, key.to_string(), raw.to_string()));
        }
        apply(f, key, &v);
    }
    if let Some(f) = current {
        r.warnings
            .push("the last object is not closed (file cut short?): frame kept".into());
        r.frames.push(f);
    }
    if let Some((line, key, raw)) = first_unquoted {
        r.warnings.push(format!(
            "not valid JSON: {unquoted} unquoted string value(s), e.g. line {line} {key}: {raw} \
             (rpicam writes strings without quotes unless they contain '/'); read leniently, no frame dropped"
        ));
    }
    Ok(())
}

/// rpicam txt: `Name=value` lines, a blank line after each frame.
fn parse_txt(text: &str, r: &mut Recording) -> Result<(), ParseError> {
    let mut current: Option<Frame> = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() {
            if let Some(f) = current.take() {
                r.frames.push(f);
            }
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            return Err(ParseError::Line {
                line: i + 1,
                reason: format!("expected Name=value, got '{l}'"),
            });
        };
        apply(
            current.get_or_insert_with(Frame::default),
            k.trim(),
            &value_of(v),
        );
    }
    if let Some(f) = current {
        r.frames.push(f);
    }
    Ok(())
}

/// `cam --metadata`: a header line per frame (`... seq: 000002 ...`), then
/// tab-indented `Name = value` lines.
fn parse_cam(text: &str, r: &mut Recording) -> Result<(), ParseError> {
    let mut current: Option<Frame> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(['\t', ' ']) {
            if let Some(f) = current.take() {
                r.frames.push(f);
            }
            let mut f = Frame::default();
            if let Some(rest) = line.split(" seq: ").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                f.sequence = digits.parse().ok();
            }
            if f.sequence.is_none() {
                return Err(ParseError::Line {
                    line: i + 1,
                    reason: format!("expected a frame header with 'seq:', got '{line}'"),
                });
            }
            current = Some(f);
            continue;
        }
        let l = line.trim();
        let Some((k, v)) = l.split_once('=') else {
            return Err(ParseError::Line {
                line: i + 1,
                reason: format!("expected 'Name = value', got '{l}'"),
            });
        };
        let Some(f) = current.as_mut() else {
            return Err(ParseError::Line {
                line: i + 1,
                reason: "control before the first frame header".into(),
            });
        };
        apply(f, k.trim(), &value_of(v));
    }
    if let Some(f) = current {
        r.frames.push(f);
    }
    Ok(())
}

/// CSV with a header row; only the known columns are read.
fn parse_csv(text: &str, r: &mut Recording) -> Result<(), ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(ParseError::Unknown);
    };
    // Column names are matched without regard to case, as detect() does.
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let find = |names: &[&str]| {
        cols.iter()
            .position(|c| names.iter().any(|n| n.eq_ignore_ascii_case(c)))
    };
    let wall = find(&["frame_wall_clock_ns", "FrameWallClock"]).ok_or(ParseError::Unknown)?;
    let seq = find(&["sequence", "seq", "Sequence"]);
    let sensor = find(&["sensor_timestamp_ns", "SensorTimestamp"]);
    let ready = find(&["sync_ready", "SyncReady"]);
    let adjustment = find(&["sync_adjustment_us", "SyncAdjustment"]);
    for (i, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let cell = |c: Option<usize>| c.and_then(|c| cells.get(c)).filter(|s| !s.is_empty());
        let int = |c: Option<usize>| -> Result<Option<i64>, ParseError> {
            cell(c)
                .map(|s| {
                    s.parse::<i64>().map_err(|e| ParseError::Line {
                        line: i + 1,
                        reason: format!("'{s}': {e}"),
                    })
                })
                .transpose()
        };
        let mut f = Frame {
            wall_ns: int(Some(wall))?,
            sensor_timestamp_ns: int(sensor)?,
            sequence: int(seq)?.and_then(|n| u64::try_from(n).ok()),
            sync_ready: None,
            sync_adjustment_us: int(adjustment)?,
        };
        if let Some(s) = cell(ready) {
            f.sync_ready = match s.to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => {
                    return Err(ParseError::Line {
                        line: i + 1,
                        reason: format!("sync_ready '{s}' is not true/false/1/0"),
                    });
                }
            };
        }
        r.frames.push(f);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_json_keeps_frames_with_unquoted_strings() {
        let text = "[\n{\n    \"SensorTimestamp\": 1000,\n    \"AfState\": Idle,\n    \"FrameWallClock\": 5000,\n    \"SyncReady\": false\n},\n{\n    \"FrameWallClock\": 38333,\n    \"ColourGains\": [ 1.5, 2.0 ],\n    \"SyncReady\": true\n}\n]\n";
        let r = parse("a", text).unwrap();
        assert_eq!(r.format, Format::RpicamJson);
        assert_eq!(r.frames.len(), 2);
        assert_eq!(r.frames[0].wall_ns, Some(5000));
        assert_eq!(r.frames[0].sensor_timestamp_ns, Some(1000));
        assert_eq!(r.frames[1].sync_ready, Some(true));
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("AfState: Idle"));
    }

    #[test]
    fn valid_json_in_any_layout() {
        let r = parse("a", r#"[{"FrameWallClock": 7, "SyncReady": true}]"#).unwrap();
        assert_eq!(r.frames[0].wall_ns, Some(7));
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn txt_cam_and_csv() {
        let r = parse(
            "t",
            "FrameWallClock=10\nSyncReady=true\n\nFrameWallClock=20\n",
        )
        .unwrap();
        assert_eq!((r.format, r.frames.len()), (Format::RpicamTxt, 2));
        let cam = "2489.828494 (30.00 fps) cam0-stream0 seq: 000002 bytesused: 76800/38400\n\tSyncReady = false\n\tFrameWallClock = 1795433886933897216\n2489.861827 (30.00 fps) cam0-stream0 seq: 000004 bytesused: 76800/38400\n\tFrameWallClock = 1795433886967230000\n";
        let r = parse("c", cam).unwrap();
        assert_eq!(r.format, Format::Cam);
        assert_eq!(r.frames[1].sequence, Some(4));
        assert_eq!(r.frames[0].wall_ns, Some(1795433886933897216));
        let r = parse(
            "v",
            "sequence,frame_wall_clock_ns,sync_ready\n1,100,0\n2,,1\n",
        )
        .unwrap();
        assert_eq!(r.format, Format::Csv);
        assert_eq!(r.frames[1].wall_ns, None);
        assert_eq!(r.frames[1].sync_ready, Some(true));
        assert!(r.warnings[0].contains("1 frame(s) have no FrameWallClock"));
        assert_eq!(parse("x", "hello\n"), Err(ParseError::Unknown));
        // One column is a CSV too.
        let r = parse("w", "frame_wall_clock_ns\n100\n200\n").unwrap();
        assert_eq!((r.format, r.frames.len()), (Format::Csv, 2));
    }

    #[test]
    fn wall_clocks_outside_ns_since_1970_are_refused() {
        for bad in [-1, MAX_WALL_NS, i64::MAX] {
            let text = format!("frame_wall_clock_ns\n100\n{bad}\n");
            assert_eq!(
                parse("w", &text),
                Err(ParseError::WallClock {
                    frame: 1,
                    value: bad
                })
            );
        }
        assert!(parse("w", &format!("frame_wall_clock_ns\n{}\n", MAX_WALL_NS - 1)).is_ok());
    }
}
