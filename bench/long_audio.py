"""RTF and peak RSS for a 1-hour recording through maied (espeak-ng speech joined with silence by sox).

The daemon is warmed with a 10 s task first (model loaded), then the long file is submitted and long-polled
while the daemon's RSS (main process and worker child) is sampled.

    python -m bench.long_audio [--quick] [--device cpu|cuda] [--minutes 60]
"""

from __future__ import annotations

from bench._common import gpu_memory_mb, machine_line, parser, print_table, speech_wav, tree_rss_mb
from bench._daemon import RssSampler, bench_daemon, run_through_daemon

SAMPLE_RATE = 16000
GAP_SECONDS = 2.0


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, help="length of the recording (default 60, quick 5)")
    args = p.parse_args()
    minutes = args.minutes or (5.0 if args.quick else 60.0)
    seconds = minutes * 60
    path = speech_wav(seconds, gap=GAP_SECONDS)
    print(f"machine: {machine_line()}; device {args.device}; {minutes:g} min recording {path}")
    with bench_daemon(args.device, JOB_TIMEOUT=str(int(seconds * 4))) as daemon:
        assert daemon.proc is not None
        pid = daemon.proc.pid
        run_through_daemon(daemon, speech_wav(10.0), language="en")
        warm = tree_rss_mb(pid)
        gpu_warm = gpu_memory_mb()
        with RssSampler(pid, interval=0.25) as rss:
            wall, body = run_through_daemon(daemon, path, timeout=seconds * 5, language="en")
        gpu_after = gpu_memory_mb()
    m = body["metrics"]
    decoded_mb = seconds * SAMPLE_RATE * 4 / 1e6
    print_table(f"long audio ({minutes:g} min, {args.device})",
                ["audio s", "wall s (submit->COMPLETE)", "RTF (wall)", "task rtf", "asr_rtf", "preprocess s",
                 "segments"],
                [[m.get("input_duration_seconds"), wall, wall / seconds, m.get("rtf"), m.get("asr_rtf"),
                  m.get("preprocess_seconds"), len(body["results"].get("segments", []))]])
    print_table("daemon RSS (MB)", ["moment", "main", "worker", "total"],
                [["warm (model loaded), before", warm["main"], warm["children"], warm["total"]],
                 ["peak during the long task", rss.peak["main"], rss.peak["children"], rss.peak["total"]]])
    print(f"worker peak grew by {rss.peak['children'] - warm['children']:.0f} MB over its warm RSS; the whole "
          f"recording decoded would be {decoded_mb:.0f} MB of float32 (16 kHz mono): recordings over 10 min are "
          f"decoded and transcribed in 60 s windows (maied.pipeline.long_audio), so that is never held")
    if gpu_warm is not None:
        print_table("GPU memory (MiB)", ["warm", "after the long task"], [[gpu_warm, gpu_after]])


if __name__ == "__main__":
    main()
