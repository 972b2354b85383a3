#include "gordo/ops/config_flags.h"

#include "gordo_version.h"

namespace gordo {

cxxopts::Options flag_table() {
  cxxopts::Options opts("gordo", "gordo " GORDO_VERSION " - live-stream fan-out server");
  opts.custom_help("[OPTION...]");
  // clang-format off
  opts.add_options()
    ("l,listen", "Address to serve viewers on: PORT, HOST:PORT or [IPV6]:PORT",
        cxxopts::value<std::string>()->default_value("0.0.0.0:8080"))
    ("tls-listen", "Address to serve viewers HTTPS on (same forms as --listen); needs --tls-cert "
        "and --tls-key", cxxopts::value<std::string>())
    ("tls-cert", "PEM certificate chain for --tls-listen; repeat for more names (chosen by "
        "SNI, the first one otherwise), each with its --tls-key in the same order",
        cxxopts::value<std::string>())
    ("tls-key", "PEM private key of the --tls-cert given in the same position",
        cxxopts::value<std::string>())
    ("tls-handshake-timeout", "Seconds a TLS client has to finish its handshake (then it is "
        "closed and counted); 0: the --header-timeout", cxxopts::value<std::string>()->default_value("0"))
    ("admin-listen", "Address for GET /stats (JSON) and /metrics (Prometheus); 'off': none",
        cxxopts::value<std::string>()->default_value("127.0.0.1:8081"))
    ("access-log", "One line per request at disconnect (Apache combined + seconds) to this file "
        "(reopened on SIGUSR1), '-' for stdout, or off", cxxopts::value<std::string>()->default_value("off"))
    ("i,input", "Source: a file or any FFmpeg URL (udp://, srt://, rtmp://, http://...), or "
        "'push' (encoders PUT/POST/SOURCE to the mount), or 'push:/PATH' (the source pushed to "
        "mount /PATH). Default: a built-in test pattern with a tone. Repeat for upstreams of the "
        "same stream, tried in order when the one in use fails", cxxopts::value<std::string>())
    ("m,mount", "Path viewers request, or PATH=SOURCE; repeat for more mounts (--input is the "
        "source of mounts given without one)", cxxopts::value<std::string>()->default_value("/live.ts"))
    ("loop", "Start the input again when it ends (files)")
    ("relay", "Mirror every mount of an origin gordo, read from its admin /stats URL "
        "(http://user:pass@origin:8081/stats); repeat for backup origins, tried in order",
        cxxopts::value<std::string>())
    ("relay-interval", "How often --relay reads the origins' mount lists",
        cxxopts::value<std::string>()->default_value("5s"))
    ("workers", "Serving threads (0: one per online CPU, or per --cpus entry)",
        cxxopts::value<std::string>()->default_value("0"))
    ("cpus", "Pin worker i to the i-th CPU of this list, e.g. 0-3,6 (default: no pinning)",
        cxxopts::value<std::string>())
    ("ring-chunks", "Chunks of history kept per mount (about 32 KiB each), 16 to 1048576",
        cxxopts::value<std::string>()->default_value("1024"))
    ("chunk-size", "Publish a chunk once it holds this many bytes (and at every keyframe); "
        "bigger chunks mean fewer, larger sends", cxxopts::value<std::string>()->default_value("32KiB"))
    ("chunk-duration", "Publish a chunk once its first byte is this old (and at --chunk-size)",
        cxxopts::value<std::string>()->default_value("100ms"))
    ("burst", "History a new viewer gets, from a keyframe: time (2s) or bytes (1MiB); "
        "0: from the newest keyframe", cxxopts::value<std::string>()->default_value("0"))
    ("max-lag", "How far behind live a viewer may fall before --on-slow applies: time or bytes; "
        "0: only when it falls out of the ring", cxxopts::value<std::string>()->default_value("10s"))
    ("on-slow", "What to do with a viewer past --max-lag: skip-to-keyframe or drop",
        cxxopts::value<std::string>()->default_value("skip-to-keyframe"))
    ("client-limit", "Viewers in all; more get 503 (or 302, see --redirect-on-overflow). 0: no limit",
        cxxopts::value<std::string>()->default_value("0"))
    ("mount-client-limit", "Viewers per mount; 0: no limit",
        cxxopts::value<std::string>()->default_value("0"))
    ("bandwidth-limit", "Mbit/s for all viewers together (viewers x stream bitrate); 0: no limit",
        cxxopts::value<std::string>()->default_value("0"))
    ("redirect-on-overflow", "Send viewers over a limit to this URL (302) instead of a 503",
        cxxopts::value<std::string>())
    ("source-timeout", "A network source that sends nothing for this long is reconnected "
        "(with backoff; viewers stay connected)", cxxopts::value<std::string>()->default_value("10s"))
    ("lost-timeout", "A source hungry (failed or silent) this long is lost: its viewers are "
        "closed and new ones get 503 until it is back", cxxopts::value<std::string>()->default_value("30s"))
    ("source-password", "Password encoders must send (HTTP Basic, any user) to push; also "
        "$GORDO_SOURCE_PASSWORD. Default: none asked", cxxopts::value<std::string>())
    ("allow", "Only clients in these ranges may watch: addresses or CIDR ranges, comma-"
        "separated (10.0.0.0/8,2001:db8::/32); others get 403", cxxopts::value<std::string>())
    ("deny", "Clients in these ranges may not watch (403)", cxxopts::value<std::string>())
    ("token-secret-file", "Viewers need a signed URL (?expires=UNIX&token=HEX(HMAC-SHA256(secret, "
        "path+expires))); the secret is this file's first line. Also $GORDO_TOKEN_SECRET",
        cxxopts::value<std::string>())
    ("token-secret", "The same secret given directly (for the config file: a command line shows "
        "in ps)", cxxopts::value<std::string>())
    ("token-bind-ip", "Signed URLs also sign the viewer's IP address (path+expires+ip)")
    ("admin-htpasswd", "/stats and /metrics need HTTP Basic auth as a user of this htpasswd file "
        "(bcrypt: htpasswd -B; SHA-crypt; yescrypt)", cxxopts::value<std::string>())
    ("source-htpasswd", "Encoders push as a user of this htpasswd file (instead of the source "
        "password)", cxxopts::value<std::string>())
    ("hls", "Also offer the mount as HLS (MPEG-TS and fragmented MP4 mounts): /live.ts at "
        "/live.m3u8, its segments and parts under /live.ts/")
    ("hls-segment", "HLS: a segment ends at the first keyframe after this long",
        cxxopts::value<std::string>()->default_value("2s"))
    ("hls-part", "Low-latency HLS part target, 200ms to 1s; 0: classic HLS (no parts)",
        cxxopts::value<std::string>()->default_value("333ms"))
    ("hls-window", "HLS: segments a playlist lists (older ones are gone: 404), 6 to 1000",
        cxxopts::value<std::string>()->default_value("6"))
    ("hls-group", "HLS: a multivariant playlist (/show.m3u8) listing this mount with the other "
        "mounts given the same group: renditions of one programme, for adaptive bitrate",
        cxxopts::value<std::string>())
    ("fallback", "Played in the source's place while it is away (no encoder, failed, silent): a "
        "file looped from its start (a slate: tools/make-slate makes one that fits), a URL, or "
        "another mount's path; viewers stay connected", cxxopts::value<std::string>())
    ("fallback-after", "How long the source is away before --fallback goes on air",
        cxxopts::value<std::string>()->default_value("2s"))
    ("record", "Record the mount to files named by this strftime template (local time), "
        "e.g. rec/%Y-%m-%d/%H%M%S.ts; directories are made. In the mount's own format",
        cxxopts::value<std::string>())
    ("record-segment", "--record: a new file at the first keyframe after this long",
        cxxopts::value<std::string>()->default_value("1h"))
    ("record-flush", "--record: data is written at once and fdatasync'd at least this often",
        cxxopts::value<std::string>()->default_value("1s"))
    ("record-keep", "--record: delete the mount's finished files older than this (7d); 0: keep",
        cxxopts::value<std::string>()->default_value("0"))
    ("record-min-free", "--record: delete the mount's oldest finished files while its "
        "filesystem has less free than this (1G); if still too little, pause. 0: no check",
        cxxopts::value<std::string>()->default_value("0"))
    ("record-command", "--record: run this with /bin/sh -c on each finished file, its path in "
        "$GORDO_RECORD_FILE and the mount in $GORDO_MOUNT", cxxopts::value<std::string>())
    ("cors-origin", "Access-Control-Allow-Origin on viewer answers, so players on other sites "
        "can fetch streams: an origin, * or off", cxxopts::value<std::string>()->default_value("*"))
    ("player-page", "GET / on the viewer port lists the mounts, each with a page that plays "
        "it in a browser (/live.ts/player): on or off (then / is a 404)",
        cxxopts::value<std::string>()->default_value("on"))
    ("header-timeout", "Seconds a client has to send its request head (then 408)",
        cxxopts::value<std::string>()->default_value("10"))
    ("write-timeout", "Seconds a send may make no progress before the viewer is closed",
        cxxopts::value<std::string>()->default_value("30"))
    ("zerocopy", "Zero-copy sends: auto (until the kernel reports copying), on or off",
        cxxopts::value<std::string>()->default_value("auto"))
    ("engine", "How workers do I/O: auto (io_uring, or epoll where io_uring is blocked or "
        "missing), uring or epoll", cxxopts::value<std::string>()->default_value("auto"))
    ("sndbuf", "Kernel send buffer per viewer in bytes (SO_SNDBUF); 0: autotuning",
        cxxopts::value<std::string>()->default_value("0"))
    ("notsent-lowat", "Bytes the kernel queues per viewer beyond those in flight "
        "(TCP_NOTSENT_LOWAT); the rest waits in the ring. 0: the kernel's setting",
        cxxopts::value<std::string>()->default_value("32KiB"))
    ("log-level", "trace, debug, info, warn, error or off",
        cxxopts::value<std::string>()->default_value("info"))
    ("c,config", "Read settings and [[mount]] tables from this TOML file; flags override it",
        cxxopts::value<std::string>())
    ("check-config", "Check the configuration, print a summary and exit")
    ("h,help", "Print this help and exit")
    ("version", "Print the version and exit");
  // clang-format on
  return opts;
}

}  // namespace gordo
