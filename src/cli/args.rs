//! Value parsers shared by the subcommands' arguments.

use camsync::core::{Profile, WireFormat};

/// `--profile NAME`: one of `Profile::ALL`.
pub fn parse_profile(s: &str) -> Result<Profile, String> {
    Profile::from_name(s).ok_or_else(|| {
        let names: Vec<_> = Profile::ALL.iter().map(|p| p.name()).collect();
        format!("unknown profile '{s}' (known: {})", names.join(", "))
    })
}

/// `--format NAME`: `layer` or `rpi`.
pub fn parse_format(s: &str) -> Result<WireFormat, String> {
    WireFormat::from_name(s).ok_or_else(|| format!("unknown wire format '{s}' (layer, rpi)"))
}
