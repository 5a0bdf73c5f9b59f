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
        for g in &r.gpus {
            println!("  {}", describe_gpu(g));
        }
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

/// "GPU 0: NVIDIA H200 (0000:19:00.0, 140 GiB); decode: h264 7 engines up to 4096x4096, ...".
fn describe_gpu(g: &video_hw::GpuInfo) -> String {
    let decoders: Vec<String> = g
        .decoders
        .iter()
        .map(|d| {
            format!(
                "{} {} engine{} up to {}x{}",
                d.codec.name(),
                d.engines,
                if d.engines == 1 { "" } else { "s" },
                d.max_width,
                d.max_height
            )
        })
        .collect();
    let mut line = format!(
        "GPU {}: {} ({}, {} GiB); decode: {}",
        g.index,
        g.name,
        g.pci_bus_id,
        g.memory_bytes >> 30,
        if decoders.is_empty() {
            "none".to_owned()
        } else {
            decoders.join(", ")
        }
    );
    for n in &g.notes {
        line.push_str(&format!("; note: {n}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gpu_line_names_its_engines_and_limits() {
        let g = video_hw::GpuInfo {
            index: 1,
            name: "NVIDIA H200".into(),
            pci_bus_id: "0000:19:00.0".into(),
            memory_bytes: 150 << 30,
            decoders: vec![video_hw::GpuDecoder {
                codec: video_hw::Codec::H264,
                engines: 7,
                max_width: 4096,
                max_height: 4096,
            }],
            notes: Vec::new(),
        };
        assert_eq!(
            describe_gpu(&g),
            "GPU 1: NVIDIA H200 (0000:19:00.0, 150 GiB); decode: h264 7 engines up to 4096x4096"
        );
    }
}
