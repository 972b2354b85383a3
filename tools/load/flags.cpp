// GCC 12 at -O2 and up warns -Wrestrict inside libstdc++'s string assign once cxxopts'
// integer parser is inlined here: a false positive of GCC 12's -Wrestrict on std::string.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include "load/flags.h"

namespace gordo::load {

cxxopts::Options flag_table() {
  cxxopts::Options spec("gordo-load", "Many HTTP viewers of one stream, measured");
  spec.positional_help("URL");
  // clang-format off
  spec.add_options()
    ("url", "Stream to view, http://HOST:PORT/PATH (https://: --tls)", cxxopts::value<std::string>())
    ("n,viewers", "Concurrent viewers", cxxopts::value<unsigned>()->default_value("100"))
    ("r,rate", "New viewers per second", cxxopts::value<double>()->default_value("1000"))
    ("d,duration", "Seconds measured, after all viewers connected and settled",
        cxxopts::value<double>()->default_value("10"))
    ("settle", "Seconds between the last connect and the measured window",
        cxxopts::value<double>()->default_value("2"))
    ("b,bitrate", "Expected stream rate in Mbit/s (default: measured from the stream's MPEG-TS PCRs)",
        cxxopts::value<double>()->default_value("0"))
    ("cpu", "Pin to this CPU", cxxopts::value<int>()->default_value("-1"))
    ("server-pid", "Also report this process's CPU use over the window and its RSS at the end "
        "(several, comma-separated: summed, and each)", cxxopts::value<std::vector<int>>())
    ("server-core", "Also report how busy this CPU was over the window (the server's pinned core)",
        cxxopts::value<int>()->default_value("-1"))
    ("source", "Connect viewer j from host address j+1 of this IPv4 network, ADDRESS/PREFIX with "
        "no host bits set (198.19.16.0/21: 198.19.16.1, .2, ...; a /31 or /32 from its first "
        "address); each address must be local. On loopback all of 127.0.0.0/8 is: --source "
        "127.1.0.0/16 also lifts the ~28,000 connections one source address has ephemeral "
        "ports for", cxxopts::value<std::string>(), "CIDR")
    ("raw", "No HTTP: read the stream straight from the socket (GStreamer tcpserversink)")
    ("hls", "HLS viewers: URL is a media playlist or a multivariant one (its first rendition); "
        "low-latency (blocking reloads and parts) as hls.js plays it")
    ("hls-classic", "HLS viewers polling the playlist every half target duration for whole segments")
    ("tls", "HTTPS: a TLS handshake per viewer (paced by --rate), then the request")
    ("tls-servername", "SNI to send (default: the URL's host, unless an IP address)",
        cxxopts::value<std::string>())
    ("tls-ca", "Verify the server's certificate against this CA file (default: no verification)",
        cxxopts::value<std::string>())
    ("verify", "Viewers (the first to connect) that check all they receive: MPEG-TS continuity "
        "and PCRs, with --tls decrypted; the others check the head and first keyframe, then count "
        "bytes without copying them", cxxopts::value<unsigned>()->default_value("16"))
    ("recv", "How counting viewers receive: uring (a multishot io_uring receive each, the "
        "cheapest), epoll (a wake-up and a recv per arrival), or auto (uring where the kernel has "
        "it)", cxxopts::value<std::string>()->default_value("auto"))
    ("strict", "Exit 3 when the run was client-bound (gordo-load's core over --client-limit)")
    ("client-limit", "% of its core (its process, or all that ran there) past which the run "
        "measured the client, not the server", cxxopts::value<double>()->default_value("85"))
    ("json", "Print the summary as one JSON object")
    ("q,quiet", "No progress line")
    ("h,help", "Print this help");
  // clang-format on
  return spec;
}

}  // namespace gordo::load
