//! `video-hw probe`.

use anyhow::Result;
use clap::Args;
use std::process::ExitCode;

/// Arguments of `probe`.
#[derive(Args, Debug)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub common: crate::Common,
}

/// Prints what each backend can do here.
pub fn run(args: ProbeArgs) -> Result<ExitCode> {
    let reports = video_hw::probe();
    if args.common.wants_json() {
        crate::json_out::emit(&args.common, false, &reports)?;
        return Ok(ExitCode::SUCCESS);
    }
    for r in &reports {
        let state = if r.available {
            "available"
        } else {
            "unavailable"
        };
        println!("{:<13} {state}: {}", r.backend.name(), r.detail);
        for (dir, list) in [("decode", &r.decode), ("encode", &r.encode)] {
            if !r.available {
                continue;
            }
            if list.is_empty() {
                println!("  {dir}: no");
            }
            for c in list {
                let max = match (c.max_width, c.max_height) {
                    (Some(w), Some(h)) => format!(" up to {w}x{h}"),
                    _ => String::new(),
                };
                let depths: Vec<String> = c.bit_depths.iter().map(|d| format!("{d}-bit")).collect();
                println!(
                    "  {dir} {:<5} {}{max} ({})",
                    c.codec.name(),
                    depths.join("/"),
                    c.implementation
                );
            }
        }
        if r.available && !r.decode_capabilities.is_empty() {
            println!("  decodes exactly (checked at every sequence header):");
        }
        for c in r.decode_capabilities.iter().filter(|_| r.available) {
            println!(
                "    {:<5} {}: {}",
                c.codec.name(),
                c.implementation,
                c.describe()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
